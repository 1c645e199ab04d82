import Testing
import VigilCore

@Suite("Safety guards")
struct SafetyGuardTests {
  static func cluster(_ members: [(String, Bool)], learner: String? = nil) -> LiveCluster {
    var out = members.enumerated().map { i, m in LiveMember(id: UInt64(i + 1), name: m.0, isLearner: false, healthy: m.1, isLeader: i == 0) }
    if let learner { out.append(LiveMember(id: 99, name: learner, isLearner: true, healthy: true)) }
    return LiveCluster(members: out)
  }

  static let fresh = GuardContext(now: 100, snapshotAt: 90)

  @Test func restartedMembersAreVerifiedByAWorkingQuorumOtherRunbooksByEveryVoter() {
    let one = Self.cluster([("m1", true), ("m2", false), ("m3", true)])
    // restart-members brought the quorum back; the member lost for good beside them gets a plan of its own.
    #expect(RepairVerification.missing(one, leaders: [1], runbook: .restartMembers, member: nil, expectedVoters: 3) == nil)
    #expect(RepairVerification.missing(one, leaders: [1], runbook: .restoreCluster, member: nil, expectedVoters: 3) != nil)
    let two = Self.cluster([("m1", true), ("m2", false), ("m3", false)])
    #expect(
      RepairVerification.missing(two, leaders: [1], runbook: .restartMembers, member: nil, expectedVoters: 3)?
        .contains("a quorum needs 2") == true)
    #expect(RepairVerification.missing(one, leaders: [1, 3], runbook: .restartMembers, member: nil, expectedVoters: 3) != nil)
  }

  @Test func removingADeadMemberOfThreeKeepsAQuorum() {
    let c = Self.cluster([("m1", true), ("m2", false), ("m3", true)])
    #expect(SafetyGuard.check(PlanStep(.remove, member: "m2"), in: c, Self.fresh) == nil)
  }

  @Test func removingWhenTwoOfThreeAreDownIsRefused() {
    let c = Self.cluster([("m1", true), ("m2", false), ("m3", false)])
    let refusal = SafetyGuard.check(PlanStep(.remove, member: "m2"), in: c, Self.fresh)
    #expect(refusal?.contains("a quorum needs 2") == true)
    #expect(SafetyGuard.check(PlanStep(.addLearner), in: c, Self.fresh)?.contains("quorum") == true)
  }

  @Test func aMembershipChangeNeedsAFreshSnapshot() {
    let c = Self.cluster([("m1", true), ("m2", false), ("m3", true)])
    #expect(SafetyGuard.check(PlanStep(.remove, member: "m2"), in: c, GuardContext(now: 100))?.contains("no snapshot") == true)
    #expect(SafetyGuard.check(PlanStep(.remove, member: "m2"), in: c, GuardContext(now: 1000, snapshotAt: 1))?.contains("old") == true)
  }

  @Test func oneMembershipChangeAtATime() {
    let c = Self.cluster([("m1", true), ("m2", true), ("m3", true)], learner: "x")
    #expect(SafetyGuard.check(PlanStep(.addLearner), in: c, Self.fresh)?.contains("learner x") == true)
    // The plan's own learner is not "another" change.
    var own = Self.fresh
    own.ownLearner = "x"
    #expect(SafetyGuard.check(PlanStep(.promote), in: c, own) == nil)
  }

  @Test func stoppingAHealthyVoterThatAQuorumNeedsIsRefused() {
    let c = Self.cluster([("m1", true), ("m2", true), ("m3", false)])
    #expect(SafetyGuard.check(PlanStep(.kill, member: "m2"), in: c, Self.fresh)?.contains("quorum") == true)
    #expect(SafetyGuard.check(PlanStep(.kill, member: "m3"), in: c, Self.fresh) == nil)
  }

  @Test func defragmentOnlyWhileEveryOtherVoterIsHealthy() {
    let sick = Self.cluster([("m1", true), ("m2", true), ("m3", false)])
    #expect(SafetyGuard.check(PlanStep(.defragment, member: "m1"), in: sick, Self.fresh)?.contains("m3") == true)
    let well = Self.cluster([("m1", true), ("m2", true), ("m3", true)])
    #expect(SafetyGuard.check(PlanStep(.defragment, member: "m1"), in: well, Self.fresh) == nil)
  }
}
