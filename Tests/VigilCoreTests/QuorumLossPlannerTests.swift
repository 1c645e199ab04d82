import Testing
import VigilCore

/// The planner when several voters fail at once: crashed members with their data are restarted despite the
/// storm brake; a majority lost for good is restored from backup, by policy waiting for a person; a majority
/// merely failing (a network fault) stays with the storm brake until the grace passes.
@Suite("Quorum loss planning")
struct QuorumLossPlannerTests {
  static func view(_ health: [String: HealthState], _ diagnoses: [Diagnosis], tier: String = "P1") -> ClusterRepairView {
    ClusterRepairView(
      cluster: "c", tier: tier, mode: .auto,
      members: health.keys.sorted().map {
        MemberHealthView(name: $0, health: health[$0]!, peerURL: "http://\($0):2380", clientURL: "http://\($0):2379")
      },
      diagnoses: diagnoses, incidents: ["c": 4])
  }

  static func plans(_ decisions: [RepairDecision]) -> [RepairRequest] {
    decisions.compactMap { if case .plan(let r) = $0 { r } else { nil } }
  }

  @Test func twoCrashedMembersAreRestartedTogetherNotEscalated() {
    var planner = RepairPlanner()
    let v = Self.view(
      ["m1": .failed, "m2": .failed, "m3": .failed],
      [Diagnosis(fault: .crashed, member: "m1", reason: "refused"), Diagnosis(fault: .crashed, member: "m2", reason: "refused")])
    let p = Self.plans(planner.decide([v], now: 0))
    #expect(p.count == 1)
    #expect(p.first?.runbook == .restartMembers)
    #expect(p.first?.members == ["m1", "m2"])
    #expect(p.first?.requiresApproval == false)
    #expect(RepairPlanner.stepsOf(p.first!).map(\.label) == [
      "start-member m1", "start-member m2", "wait-healthy m1", "wait-healthy m2", "verify-cluster",
    ])
  }

  @Test func theCrashedOnlyMemberOfAOneMemberClusterIsRestarted() {
    var planner = RepairPlanner()
    let v = Self.view(["m1": .failed], [Diagnosis(fault: .crashed, member: "m1", reason: "refused"), Diagnosis(fault: .quorumLost, member: nil, reason: "")])
    let p = Self.plans(planner.decide([v], now: 0))
    #expect(p.first?.runbook == .restartMembers)
    #expect(p.first?.members == ["m1"])
  }

  @Test func aMajorityWithItsDataGoneIsRestoredAndWaitsForApprovalByDefault() {
    var planner = RepairPlanner()
    let v = Self.view(
      ["m1": .failed, "m2": .failed, "m3": .failed],
      [Diagnosis(fault: .dataLoss, member: "m1", reason: "data dir empty"), Diagnosis(fault: .dataLoss, member: "m2", reason: "data dir empty")])
    let p = Self.plans(planner.decide([v], now: 0))
    #expect(p.first?.runbook == .restoreCluster)
    #expect(p.first?.members == ["m1", "m2", "m3"])
    #expect(p.first?.requiresApproval == true)
    #expect(p.first?.incidentID == 4)
    #expect(p.first?.fault == .quorumLost)
  }

  @Test func restoreRunsAtOnceWhereTheTierSaysAuto() {
    var settings = RepairSettings()
    settings.restoreModeByTier = ["P0": .auto]
    var planner = RepairPlanner(settings: settings)
    let lost = [Diagnosis(fault: .dataLoss, member: "m1", reason: ""), Diagnosis(fault: .dataLoss, member: "m2", reason: "")]
    let p0 = Self.plans(planner.decide([Self.view(["m1": .failed, "m2": .failed, "m3": .healthy], lost, tier: "P0")], now: 0))
    #expect(p0.first?.runbook == .restoreCluster && p0.first?.requiresApproval == false)
  }

  @Test func oneLostMemberOfThreeIsReplacedNotRestored() {
    var planner = RepairPlanner()
    let v = Self.view(["m1": .failed, "m2": .healthy, "m3": .healthy], [Diagnosis(fault: .dataLoss, member: "m1", reason: "")])
    #expect(Self.plans(planner.decide([v], now: 0)).first?.runbook == .replaceMember)
  }

  @Test func aFailingMajorityWithoutDataLossWaitsOutTheGraceThenIsRestored() {
    var planner = RepairPlanner()
    let cut = [Diagnosis(fault: .partitioned, member: "m1", reason: ""), Diagnosis(fault: .partitioned, member: "m2", reason: "")]
    let v = Self.view(["m1": .failed, "m2": .failed, "m3": .healthy], cut)
    // At first the storm brake holds: likely the network.
    let first = planner.decide([v], now: 0)
    #expect(Self.plans(first).isEmpty)
    #expect(first.contains { if case .escalate = $0 { true } else { false } })
    #expect(Self.plans(planner.decide([v], now: 29)).isEmpty)
    // Gone past the grace: lost for good.
    #expect(Self.plans(planner.decide([v], now: 30)).first?.runbook == .restoreCluster)
  }

  @Test func aClusterWithAStandbyFailsOverAfterFailoverAfterNotTheGrace() {
    var planner = RepairPlanner()
    let cut = [Diagnosis(fault: .partitioned, member: "m1", reason: ""), Diagnosis(fault: .partitioned, member: "m2", reason: "")]
    var v = Self.view(["m1": .failed, "m2": .failed, "m3": .healthy], cut)
    v.failoverTo = "standby"
    #expect(Self.plans(planner.decide([v], now: 0)).isEmpty)
    #expect(Self.plans(planner.decide([v], now: 4)).isEmpty)
    let p = Self.plans(planner.decide([v], now: 5))
    #expect(p.first?.runbook == .promoteStandby)
    #expect(p.first?.requiresApproval == true)  // approve by default
    #expect(p.first?.fault == .quorumLost)
    #expect(p.first?.reason.contains("the standby standby takes over") == true)
    // Without a running standby (failoverTo nil) the same fault waits for the grace and a restore.
    var other = RepairPlanner()
    v.failoverTo = nil
    _ = other.decide([v], now: 0)
    #expect(Self.plans(other.decide([v], now: 5)).isEmpty)
  }

  @Test func failoverRunsAtOnceInAutoModeAndNotAtAllWhenRestoreIsPreferred() {
    var settings = RepairSettings()
    settings.failoverMode = .auto
    var planner = RepairPlanner(settings: settings)
    let lost = [Diagnosis(fault: .dataLoss, member: "m1", reason: ""), Diagnosis(fault: .dataLoss, member: "m2", reason: "")]
    var v = Self.view(["m1": .failed, "m2": .failed, "m3": .healthy], lost)
    v.failoverTo = "standby"
    let p = Self.plans(planner.decide([v], now: 0))
    #expect(p.first?.runbook == .promoteStandby && p.first?.requiresApproval == false)
    settings.preferFailover = false
    var restoring = RepairPlanner(settings: settings)
    #expect(Self.plans(restoring.decide([v], now: 0)).first?.runbook == .restoreCluster)
  }

  @Test func theGuardRefusesARestoreWhileAMajorityAnswers() {
    #expect(SafetyGuard.restoreRefusal(answering: 2, voters: 3) != nil)
    #expect(SafetyGuard.restoreRefusal(answering: 1, voters: 3) == nil)
    #expect(SafetyGuard.restoreRefusal(answering: 0, voters: 3) == nil)
    #expect(SafetyGuard.restoreRefusal(answering: 3, voters: 5) != nil)
    #expect(SafetyGuard.restoreRefusal(answering: 2, voters: 5) == nil)
  }

  @Test func theRestoreRunbookFencesBeforeItRestoresAndVerifiesLast() {
    let steps = Runbook.restoreCluster.steps(member: nil, members: ["m1", "m2", "m3"]).map(\.action)
    #expect(steps == [.confirmQuorumLost, .fenceAll, .replayChangeLog, .restoreAll, .startAll, .verify])
    #expect(Runbook.restoreCluster.needsRuntime && !Runbook.restoreCluster.needsMember)
  }
}

extension RepairPlanner {
  static func stepsOf(_ r: RepairRequest) -> [PlanStep] { r.runbook.steps(member: r.member, members: r.members) }
}
