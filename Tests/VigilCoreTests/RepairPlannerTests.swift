import Testing
import VigilCore

/// The planner is pure: views and times go in, decisions come out.
@Suite("Repair planner")
struct RepairPlannerTests {
  static func view(
    _ health: [String: HealthState], diagnoses: [Diagnosis], mode: RepairMode = .auto, busy: Bool = false,
    cluster: String = "c", leader: String = "m1", fragmented: Bool = false
  ) -> ClusterRepairView {
    ClusterRepairView(
      cluster: cluster, tier: "P1", mode: mode,
      members: health.keys.sorted().map { MemberHealthView(name: $0, health: health[$0]!, isLeader: $0 == leader) },
      diagnoses: diagnoses, fragmented: fragmented, incidents: ["\(cluster)/m2": 7], busy: busy)
  }

  static let crashed = Diagnosis(fault: .crashed, member: "m2", reason: "connection refused")

  static func plans(_ decisions: [RepairDecision]) -> [RepairRequest] {
    decisions.compactMap { if case .plan(let r) = $0 { r } else { nil } }
  }

  static func escalations(_ decisions: [RepairDecision]) -> [String] {
    decisions.compactMap { if case .escalate(_, _, let reason, _) = $0 { reason } else { nil } }
  }

  @Test func aCrashedMemberIsRestartedAtOnceWithItsIncident() {
    var planner = RepairPlanner()
    let v = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [Self.crashed])
    let p = Self.plans(planner.decide([v], now: 100))
    #expect(p.count == 1)
    #expect(p.first?.runbook == .restartMember && p.first?.member == "m2" && p.first?.incidentID == 7)
    // While the plan runs the cluster is busy: nothing more.
    var busy = v
    busy.busy = true
    #expect(planner.decide([busy], now: 101).isEmpty)
  }

  @Test func aPartitionedMemberGetsItsGracePeriodBeforeItIsReplaced() {
    var planner = RepairPlanner()
    let d = Diagnosis(fault: .partitioned, member: "m2", reason: "cut off")
    let v = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [d])
    #expect(planner.decide([v], now: 0).isEmpty)
    #expect(planner.decide([v], now: 299).isEmpty)
    #expect(Self.plans(planner.decide([v], now: 300)).first?.runbook == .replaceMember)
  }

  @Test func aCrashedMemberStillGoneAfterReplaceAfterIsReplaced() {
    var planner = RepairPlanner()
    let v = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [Self.crashed])
    let first = Self.plans(planner.decide([v], now: 0))
    planner.finished(first[0].key, succeeded: false, at: 1)
    #expect(Self.plans(planner.decide([v], now: 121)).first?.runbook == .replaceMember)
  }

  @Test func failuresAreRetriedWithBackoffThenEscalatedOnce() {
    var planner = RepairPlanner()
    let v = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [Self.crashed])
    var key = Self.plans(planner.decide([v], now: 0))[0].key
    planner.finished(key, succeeded: false, at: 1)
    #expect(planner.decide([v], now: 2).isEmpty)  // backoff 2 s
    let second = Self.plans(planner.decide([v], now: 3.1))
    #expect(second.first?.attempt == 2)
    key = second[0].key
    planner.finished(key, succeeded: false, at: 4)
    #expect(planner.decide([v], now: 7).isEmpty)  // backoff 4 s
    #expect(Self.plans(planner.decide([v], now: 8.1)).first?.attempt == 3)
    planner.finished(key, succeeded: false, at: 9)
    let escalated = Self.escalations(planner.decide([v], now: 60))
    #expect(escalated.count == 1 && escalated[0].contains("failed 3 times"))
    #expect(planner.decide([v], now: 61).isEmpty)  // said once
    // A person resumes: it may be tried again.
    planner.resume(cluster: "c")
    #expect(Self.plans(planner.decide([v], now: 62)).count == 1)
  }

  @Test func twoOfThreeLostIsNoMembershipChangeButARestoreForAPerson() {
    var planner = RepairPlanner()
    let v = Self.view(
      ["m1": .healthy, "m2": .failed, "m3": .failed],
      diagnoses: [
        Diagnosis(fault: .quorumLost, member: nil, reason: "2 of 3"), Diagnosis(fault: .dataLoss, member: "m2", reason: "wiped"),
        Diagnosis(fault: .dataLoss, member: "m3", reason: "wiped"),
      ])
    let d = planner.decide([v], now: 0)
    #expect(!Self.plans(d).contains { $0.runbook == .replaceMember })
    #expect(Self.plans(d).map(\.runbook) == [.restoreCluster])
    #expect(Self.plans(d).first?.requiresApproval == true)  // approve is the default policy for restores
    var busy = v
    busy.busy = true
    #expect(planner.decide([busy], now: 1).isEmpty)
  }

  @Test func replacingWhenAnotherVoterIsDownWouldBreakQuorum() {
    var settings = RepairSettings()
    settings.stormMaxFailedMembers = 5  // the quorum check, not the storm brake, must stop it
    var planner = RepairPlanner(settings: settings)
    let v = Self.view(
      ["m1": .healthy, "m2": .failed, "m3": .failed],
      diagnoses: [Diagnosis(fault: .dataLoss, member: "m2", reason: "wiped"), Diagnosis(fault: .crashed, member: "m3", reason: "refused")])
    let d = planner.decide([v], now: 0)
    #expect(!Self.plans(d).contains { $0.runbook == .replaceMember })
    // What can be done safely is: m3 restarted on its own data brings the quorum back (then m2 is replaced).
    #expect(Self.plans(d).map(\.runbook) == [.restartMembers])
    #expect(Self.plans(d).first?.members == ["m3"])
  }

  @Test func aFleetWhereMostClustersFailAtOnceStopsEverywhere() {
    var settings = RepairSettings()
    settings.stormMinClusters = 2
    var planner = RepairPlanner(settings: settings)
    let a = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [Self.crashed], cluster: "a")
    let b = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [Self.crashed], cluster: "b")
    let d = planner.decide([a, b], now: 0)
    #expect(Self.plans(d).isEmpty)
    #expect(Self.escalations(d).count == 2 && Self.escalations(d).allSatisfy { $0.contains("2 of 2 clusters have unhealthy members") })
    // One of two failing is not more than half: repairs go on.
    var planner2 = RepairPlanner(settings: settings)
    let healthyB = Self.view(["m1": .healthy, "m2": .healthy, "m3": .healthy], diagnoses: [], cluster: "b")
    #expect(Self.plans(planner2.decide([a, healthyB], now: 0)).count == 1)
  }

  @Test func theRateLimitRefusesOnceAndThenLetsRepairsThroughAgain() {
    var settings = RepairSettings()
    settings.maxRepairsPerWindow = 2
    settings.rateWindow = .seconds(100)
    var planner = RepairPlanner(settings: settings)
    let v = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [Self.crashed])
    for t in [0.0, 20.0] {
      let p = Self.plans(planner.decide([v], now: t))
      #expect(p.count == 1)
      planner.finished(p[0].key, succeeded: true, at: t + 1)
    }
    let refused = planner.decide([v], now: 40)
    #expect(refused.count == 1)
    if case .refuse(_, _, let reason, _) = refused.first { #expect(reason.contains("rate limit")) } else { Issue.record("not refused") }
    #expect(planner.decide([v], now: 41).isEmpty)
    #expect(Self.plans(planner.decide([v], now: 121)).count == 1)
  }

  @Test func pausedDryRunAndNoRunbookModes() {
    var planner = RepairPlanner()
    let paused = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [Self.crashed], mode: .paused)
    #expect(planner.decide([paused], now: 0).isEmpty)
    let dry = Self.view(["m1": .healthy, "m2": .failed, "m3": .healthy], diagnoses: [Self.crashed], mode: .dryRun)
    #expect(Self.plans(planner.decide([dry], now: 1)).count == 1)
    #expect(planner.decide([dry], now: 2).isEmpty)  // written out once per episode
    let leaderless = Self.view(
      ["m1": .healthy, "m2": .healthy, "m3": .healthy], diagnoses: [Diagnosis(fault: .noLeader, member: nil, reason: "none")],
      cluster: "d")
    #expect(Self.escalations(planner.decide([leaderless], now: 3)).first?.contains("a person must act") == true)
  }

  @Test func slowDiskMovesLeadershipOnlyOffTheLeader() {
    var planner = RepairPlanner()
    let slowFollower = Self.view(
      ["m1": .healthy, "m2": .healthy, "m3": .healthy], diagnoses: [Diagnosis(fault: .slowDisk, member: "m2", reason: "slow")])
    #expect(planner.decide([slowFollower], now: 0).isEmpty)
    #expect(planner.decide([slowFollower], now: 20).isEmpty)
    var planner2 = RepairPlanner()
    let slowLeader = Self.view(
      ["m1": .healthy, "m2": .healthy, "m3": .healthy], diagnoses: [Diagnosis(fault: .slowDisk, member: "m1", reason: "slow")])
    #expect(planner2.decide([slowLeader], now: 0).isEmpty)  // 10 s grace
    #expect(Self.plans(planner2.decide([slowLeader], now: 10)).first?.runbook == .moveLeader)
  }

  @Test func aFragmentedHealthyClusterIsDefragmentedFollowersFirst() {
    var planner = RepairPlanner()
    let v = Self.view(["m1": .healthy, "m2": .healthy, "m3": .healthy], diagnoses: [], leader: "m2", fragmented: true)
    let p = Self.plans(planner.decide([v], now: 0))
    #expect(p.first?.runbook == .defragment)
    let steps = Runbook.defragment.steps(member: nil, followers: ["m1", "m3"], leader: "m2").map(\.label)
    #expect(steps == ["defragment m1", "defragment m3", "defragment m2", "verify-cluster"])
    planner.finished(p[0].key, succeeded: true, at: 1)
    #expect(planner.decide([v], now: 30).isEmpty)  // the inspection has not caught up yet
  }
}

extension RepairPlannerTests {
  @Test func noSpaceOnEveryMemberIsOneFaultNotAStorm() {
    var planner = RepairPlanner()
    let d = ["m1", "m2", "m3"].map { Diagnosis(fault: .noSpace, member: $0, reason: "NOSPACE alarm raised") }
    let v = Self.view(["m1": .failed, "m2": .failed, "m3": .failed], diagnoses: d)
    let p = Self.plans(planner.decide([v], now: 0))
    #expect(p.count == 1 && p.first?.runbook == .clearNoSpace && p.first?.member == nil)
  }

  @Test func membersRefusingWritesBeforeTheirOwnAlarmIsReadAreNotAStorm() {
    // Found by the fill-quota drill: m2 and m3 failed their write probes on NOSPACE before their status
    // probes read the alarm; the storm brake handed the cluster to a person.
    var planner = RepairPlanner()
    let d = [Diagnosis(fault: .noSpace, member: "m1", reason: "NOSPACE alarm raised")]
    let v = Self.view(["m1": .failed, "m2": .failed, "m3": .failed], diagnoses: d)
    let p = Self.plans(planner.decide([v], now: 0))
    #expect(p.first?.runbook == .clearNoSpace)
    // A member with a fault of its own still counts: two crashed members are restarted on their own data first.
    var other = RepairPlanner()
    let crashed = d + [Diagnosis(fault: .crashed, member: "m2", reason: "refused"), Diagnosis(fault: .crashed, member: "m3", reason: "refused")]
    let w = Self.view(["m1": .failed, "m2": .failed, "m3": .failed], diagnoses: crashed)
    #expect(Self.plans(other.decide([w], now: 0)).first?.runbook == .restartMembers)
    // Two partitioned members (a network fault) are a storm.
    var third = RepairPlanner()
    let cut = d + [Diagnosis(fault: .partitioned, member: "m2", reason: "cut"), Diagnosis(fault: .hung, member: "m3", reason: "silent")]
    let x = Self.view(["m1": .failed, "m2": .failed, "m3": .failed], diagnoses: cut)
    #expect(Self.escalations(third.decide([x], now: 0)).first?.contains("storm brake") == true)
  }
}
