import Testing
import VigilCore

@Suite("Diagnosis")
struct DiagnoserTests {
  @Test(arguments: [
    (MemberSignals(name: "m1", health: .failed, lastFailure: .refused), Fault.crashed),
    (MemberSignals(name: "m1", health: .failed, lastFailure: .timeout, tcpReachable: true), .hung),
    (MemberSignals(name: "m1", health: .suspect, lastFailure: .timeout, tcpReachable: false), .partitioned),
    (MemberSignals(name: "m1", health: .failed, lastFailure: .timeout, tcpReachable: true, hasLeader: false), .partitioned),
    (MemberSignals(name: "m1", health: .healthy, hasLeader: true, raftIndexStalled: true), .partitioned),
    (MemberSignals(name: "m1", health: .healthy, alarms: ["NOSPACE"]), .noSpace),
    (MemberSignals(name: "m1", health: .healthy, alarms: ["CORRUPT", "NOSPACE"]), .corruption),
    (MemberSignals(name: "m1", health: .healthy, hashMismatch: true), .corruption),
    (MemberSignals(name: "m1", health: .failed, lastFailure: .refused, identityChanged: true), .dataLoss),
    (MemberSignals(name: "m1", health: .healthy, hasLeader: true, slowWrites: true), .slowDisk),
  ])
  func namesTheFault(signals: MemberSignals, expected: Fault) {
    let d = Diagnoser.diagnose(signals)
    #expect(d?.fault == expected)
    #expect(d?.member == "m1")
    #expect(d?.reason.isEmpty == false)
  }

  @Test func statusAnsweringWhileRequestsTimeOutIsCutOffNotHung() {
    var s = MemberSignals(name: "m1", health: .failed, lastFailure: .timeout, tcpReachable: true)
    s.statusProbe = .answers
    #expect(Diagnoser.diagnose(s)?.fault == .partitioned)
    s.statusProbe = .silent  // nothing answers: hung
    #expect(Diagnoser.diagnose(s)?.fault == .hung)
  }

  @Test func aReachableMemberIsNotNamedHungUntilItsStatusProbeTells() {
    // A leader cut off from its peers: its writes time out at once, its status answers a moment later.
    var s = MemberSignals(name: "m1", health: .failed, lastFailure: .timeout, tcpReachable: true)
    s.statusProbe = .undecided
    #expect(Diagnoser.diagnose(s) == nil, "not named while undecided")
    s.statusProbe = .answers
    #expect(Diagnoser.diagnose(s)?.fault == .partitioned)
    // A frozen member: its status probe fails too.
    s.statusProbe = .silent
    #expect(Diagnoser.diagnose(s)?.fault == .hung)
    // Without a status probe there is nothing to wait for.
    s.statusProbe = nil
    #expect(Diagnoser.diagnose(s)?.fault == .hung)
  }

  @Test func peersOfALeaderInTroubleAreElectingNotFaulty() {
    var leader = MemberSignals(name: "m1", health: .failed, lastFailure: .refused)
    leader.wasLeader = true
    let peer = MemberSignals(name: "m2", health: .suspect, lastFailure: .timeout, tcpReachable: true, hasLeader: true)
    let healthy = MemberSignals(name: "m3", health: .healthy, hasLeader: true)
    let found = Diagnoser.diagnose(cluster: [leader, peer, healthy])
    #expect(found.map(\.fault) == [.crashed])
    #expect(found.first?.member == "m1")
    // Nor is a peer with no leader yet, or slow writes, "partitioned" or a "slow disk" then; a peer that crashed
    // too is still crashed.
    var leaderless = MemberSignals(name: "m3", health: .healthy, hasLeader: false, slowWrites: true)
    leaderless.raftIndexStalled = true
    let crashedPeer = MemberSignals(name: "m2", health: .failed, lastFailure: .refused)
    let two = Diagnoser.diagnose(cluster: [leader, crashedPeer, leaderless])
    #expect(two.map(\.fault) == [.quorumLost, .crashed, .crashed])
    #expect(!two.contains { $0.member == "m3" })
    // A leader that times out (hung, cut off, restarting) is in trouble too: its peers wait for the election.
    var hungLeader = leader
    hungLeader.lastFailure = .timeout
    hungLeader.tcpReachable = true
    #expect(Diagnoser.diagnose(cluster: [hungLeader, peer, healthy]).map(\.member) == ["m1"])
    // The same timeouts with the leader alive are the peer's own.
    var alive = leader
    alive.health = .healthy
    alive.lastFailure = nil
    #expect(Diagnoser.diagnose(cluster: [alive, peer, healthy]).map(\.fault) == [.hung])
    // A crashed follower is not an election.
    var follower = leader
    follower.wasLeader = false
    #expect(Set(Diagnoser.diagnose(cluster: [follower, peer, healthy]).map(\.fault)) == [.crashed, .hung])
  }

  @Test func slowWritesJustAfterAnElectionAreNotASlowDisk() {
    var s = MemberSignals(name: "m1", health: .healthy, hasLeader: true, slowWrites: true)
    s.electionUnderway = true
    #expect(Diagnoser.diagnose(s) == nil)
    s.electionUnderway = false
    #expect(Diagnoser.diagnose(s)?.fault == .slowDisk)
  }

  @Test func timeoutsDuringAnElectionAreNotAHang() {
    var s = MemberSignals(name: "m1", health: .failed, lastFailure: .timeout, tcpReachable: true)
    s.electionUnderway = true
    #expect(Diagnoser.diagnose(s) == nil)
    s.lastFailure = .refused  // a crash is still a crash
    #expect(Diagnoser.diagnose(s)?.fault == .crashed)
  }

  @Test func timeoutsJustAfterTheNetworkPathCameBackAreStillThePartition() {
    var o = ClusterObserver()
    o.failed(name: "m1", kind: .timeout, tcpReachable: false, at: 100)
    #expect(Diagnoser.diagnose(o.signals(name: "m1", health: .failed, now: 101))?.fault == .partitioned)
    // The path heals: a TCP connect works, but calls on the old connection still time out.
    o.failed(name: "m1", kind: .timeout, tcpReachable: true, at: 103)
    #expect(Diagnoser.diagnose(o.signals(name: "m1", health: .failed, now: 103))?.fault == .partitioned)
    // Long after, timeouts with the port open are a hang.
    #expect(Diagnoser.diagnose(o.signals(name: "m1", health: .failed, now: 120))?.fault == .hung)
  }

  @Test func aHealthyMemberHasNoFault() {
    #expect(Diagnoser.diagnose(MemberSignals(name: "m1", health: .healthy, tcpReachable: true, hasLeader: true)) == nil)
  }

  @Test func twoOfThreeVotersFailedIsQuorumLost() {
    let members = [
      MemberSignals(name: "m1", health: .healthy, hasLeader: false),
      MemberSignals(name: "m2", health: .failed, lastFailure: .refused),
      MemberSignals(name: "m3", health: .failed, lastFailure: .refused),
    ]
    let result = Diagnoser.diagnose(cluster: members)
    #expect(result.first?.fault == .quorumLost)
    #expect(result.first?.member == nil)
    #expect(result.filter { $0.fault == .crashed }.compactMap(\.member).sorted() == ["m2", "m3"])
  }

  @Test func oneOfThreeFailedKeepsQuorum() {
    let members = [
      MemberSignals(name: "m1", health: .healthy, hasLeader: true),
      MemberSignals(name: "m2", health: .healthy, hasLeader: true),
      MemberSignals(name: "m3", health: .failed, lastFailure: .refused),
    ]
    let result = Diagnoser.diagnose(cluster: members)
    #expect(result.map(\.fault) == [.crashed])
  }

  @Test func learnersDoNotCountTowardsQuorum() {
    let members = [
      MemberSignals(name: "m1", health: .healthy, hasLeader: true),
      MemberSignals(name: "m2", health: .failed, lastFailure: .refused),
      MemberSignals(name: "m3", health: .healthy, hasLeader: true, isLearner: true),
    ]
    // Voters m1, m2: quorum 2, one failed → lost.
    #expect(Diagnoser.diagnose(cluster: members).first?.fault == .quorumLost)
  }

  @Test func votersRefusingWritesForNoSpaceAreAliveNotAQuorumLoss() {
    let members = (1...3).map {
      MemberSignals(name: "m\($0)", health: .failed, lastFailure: .other, hasLeader: true, alarms: ["NOSPACE"])
    }
    let result = Diagnoser.diagnose(cluster: members)
    #expect(result.map(\.fault) == [.noSpace, .noSpace, .noSpace])
  }

  @Test func nobodyKnowingALeaderIsNoLeader() {
    let members = (1...3).map { MemberSignals(name: "m\($0)", health: .healthy, hasLeader: false) }
    let result = Diagnoser.diagnose(cluster: members)
    #expect(result.map(\.fault) == [.noLeader])
  }
}
