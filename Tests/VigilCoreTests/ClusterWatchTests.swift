import Testing
import VigilCore

/// The watch on its own: probe results, member lists and inspections in, health, diagnoses and incidents out —
/// no etcd, no clock, no sleeping. Each scenario is a sequence drills saw on real clusters.
@Suite("Cluster watch")
struct ClusterWatchTests {
  /// Cluster `c` with voters m1 (leader, id 1), m2, m3; each member has a write probe and a status probe,
  /// the cluster a write probe.
  struct Fixture {
    var watch = ClusterWatch()
    var now = 1_000.0
    var directives: [WatchDirective] = []

    init() {
      watch.add(cluster: "c")
      _ = watch.listed(
        [WatchMember(id: 1, name: "m1", isLearner: false), WatchMember(id: 2, name: "m2", isLearner: false),
         WatchMember(id: 3, name: "m3", isLearner: false)], cluster: "c", at: now)
      watch.add(WatchTarget(key: "c|kv", subject: Subject(cluster: "c"), probe: "kv", role: .writes))
      for m in ["m1", "m2", "m3"] {
        watch.add(WatchTarget(key: "c/\(m)|kv", subject: .member(m, of: "c"), probe: "kv", role: .writes))
        watch.add(WatchTarget(key: "c/\(m)|status", subject: .member(m, of: "c"), probe: "status", role: .status))
      }
    }

    static func id(_ m: String) -> UInt64 { UInt64(m.dropFirst())! }

    mutating func feed(_ key: String, _ r: WatchResult, after seconds: Double = 0.1) {
      now += seconds
      directives += watch.observe(r, of: key, at: now)
    }

    mutating func ok(_ m: String, leader: UInt64 = 1, raftIndex: UInt64 = 100, after: Double = 0.1) {
      feed("c/\(m)|kv", WatchResult(observation: .success(.milliseconds(5))), after: after)
      feed(
        "c/\(m)|status",
        WatchResult(
          observation: .success(.milliseconds(2)),
          status: StatusSample(memberID: Self.id(m), clusterID: 9, leader: leader, raftIndex: raftIndex)), after: 0)
    }

    /// Every member and the cluster answer, twice (the detector's recovery threshold).
    mutating func allHealthy(leader: UInt64 = 1) {
      for round in 0..<2 {
        for m in ["m1", "m2", "m3"] { ok(m, leader: leader, raftIndex: 100 + UInt64(round)) }
        feed("c|kv", WatchResult(observation: .success(.milliseconds(5))))
      }
    }

    mutating func fail(
      _ key: String, _ kind: ProbeFailureKind, reach: Reach = .notChecked, confirmation: Bool = false,
      after: Double? = nil, took: Duration = .milliseconds(1), dataDirLost: Bool? = nil
    ) {
      feed(
        key,
        WatchResult(
          observation: .failure(kind, after: took, detail: "\(kind)", confirmation: confirmation), reach: reach,
          dataDirLost: dataDirLost), after: after ?? max(0.1, took.seconds))
    }

    func fault(_ m: String) -> Fault? { watch.diagnoses["c"]?.first { $0.member == m }?.fault }
    func health(_ m: String) -> HealthState { watch.health(of: .member(m, of: "c")) }
    var opened: [Incident] {
      directives.compactMap { if case .incident(.opened(let i), _) = $0 { i } else { nil } }
    }
  }

  @Test func aKilledMemberIsConfirmedFailedNamedCrashedAndGetsOneIncident() {
    var f = Fixture()
    f.allHealthy()
    #expect(f.health("m2") == .healthy)
    f.directives = []
    f.fail("c/m2|kv", .refused)
    #expect(f.directives.contains(.confirm) == false, "one failure makes it suspect, no confirmation yet")
    #expect(f.health("m2") == .suspect)
    f.fail("c/m2|kv", .refused)
    #expect(f.directives.contains(.confirm))
    f.fail("c/m2|kv", .refused, confirmation: true)
    #expect(f.health("m2") == .failed)
    #expect(f.fault("m2") == .crashed)
    #expect(f.opened.map(\.subject) == ["c/m2"])
    #expect(f.directives.contains { if case .detected(cluster: "c", _) = $0 { true } else { false } })
    let incident = f.watch.book.open["c/m2"]
    #expect(incident?.fault == .crashed)
    #expect(incident?.detectedAt != nil)
    #expect(f.watch.health(of: Subject(cluster: "c")) == .healthy, "the cluster still answers")
    // Back: two good results close the incident.
    f.ok("m2")
    f.ok("m2")
    #expect(f.health("m2") == .healthy)
    #expect(f.watch.book.open["c/m2"] == nil)
    #expect(f.directives.contains { if case .incident(.closed(let i, _), _) = $0 { i.subject == "c/m2" } else { false } })
  }

  /// Replicas: a cluster handed over leaves nothing behind to act on — its incident stays open (for the next
  /// guard), its health, diagnoses and detectors start afresh here; taken back, one bad probe is only suspect.
  @Test func aClusterLetGoForgetsWhatItBelievedButLeavesItsIncidentOpen() {
    var f = Fixture()
    f.allHealthy()
    f.fail("c/m2|kv", .refused)
    f.fail("c/m2|kv", .refused)
    f.fail("c/m2|kv", .refused, confirmation: true)
    #expect(f.health("m2") == .failed && f.fault("m2") == .crashed)
    let open = f.watch.book.open["c/m2"]
    #expect(open != nil)
    f.watch.letGo(cluster: "c")
    #expect(f.health("m2") == .unknown && f.fault("m2") == nil && f.watch.book.open.isEmpty)
    #expect(f.watch.health(of: Subject(cluster: "c")) == .unknown)
    // Taken back: the left incident continues; a first bad probe makes m2 suspect, not failed.
    f.watch.adopt([open!])
    f.fail("c/m2|kv", .refused)
    #expect(f.health("m2") == .suspect && f.watch.book.open["c/m2"]?.id == open?.id)
  }

  @Test func aRefusedMemberWhoseDataDirIsGoneIsDataLoss() {
    var f = Fixture()
    f.allHealthy()
    f.fail("c/m3|status", .refused, dataDirLost: true)
    f.fail("c/m3|status", .refused, dataDirLost: true)
    f.fail("c/m3|status", .refused, confirmation: true, dataDirLost: true)
    #expect(f.fault("m3") == .dataLoss)
  }

  @Test func aFrozenMemberIsHungOnceItsStatusFailsToo() {
    var f = Fixture()
    f.allHealthy()
    // Writes through m3 time out; its port still accepts connections.
    f.fail("c/m3|kv", .timeout, reach: .accepting, took: .seconds(1))
    f.fail("c/m3|kv", .timeout, reach: .accepting, took: .seconds(1))
    f.fail("c/m3|kv", .timeout, reach: .accepting, confirmation: true, took: .seconds(1))
    #expect(f.health("m3") == .failed)
    #expect(f.fault("m3") == nil, "not named until its status probe tells")
    f.fail("c/m3|status", .timeout, reach: .accepting, took: .seconds(1))
    #expect(f.fault("m3") == .hung)
  }

  @Test func aMemberCutOffFromAQuorumAnswersItsStatusAndIsPartitionedNotHung() {
    var f = Fixture()
    f.allHealthy()
    f.fail("c/m1|kv", .timeout, reach: .accepting, took: .seconds(1))
    f.fail("c/m1|kv", .timeout, reach: .accepting, took: .seconds(1))
    f.fail("c/m1|kv", .timeout, reach: .accepting, confirmation: true, took: .seconds(1))
    #expect(f.fault("m1") == nil)
    // Its status still answers, twice, after the failing request began; it still believes it leads.
    for i in 0..<2 {
      f.feed(
        "c/m1|status",
        WatchResult(
          observation: .success(.milliseconds(2)),
          status: StatusSample(memberID: 1, clusterID: 9, leader: 1, raftIndex: 200 + UInt64(i))), after: 0.3)
    }
    // ... while the next write through it, begun before those answers, times out again.
    f.fail("c/m1|kv", .timeout, reach: .accepting, after: 0.6, took: .seconds(1))
    #expect(f.fault("m1") == .partitioned)
    #expect(f.watch.book.open["c/m1"]?.fault == .partitioned)
  }

  @Test func aStatusAnsweredBeforeTheFreezeDoesNotCountAsAnswering() {
    var f = Fixture()
    f.allHealthy()
    // Writes time out; a status answer arrives 0.1 s after a request that had been failing for 2 s began.
    f.fail("c/m2|kv", .timeout, reach: .accepting, took: .seconds(2))
    f.fail("c/m2|kv", .timeout, reach: .accepting, took: .seconds(2))
    f.fail("c/m2|kv", .timeout, reach: .accepting, confirmation: true, after: 0.1, took: .seconds(2))
    #expect(f.fault("m2") == nil, "undecided: its last status answers predate the failing request")
    // Had its status answered twice after the request began, it would be cut off, not hung.
    f.ok("m2", raftIndex: 102, after: 0)
    #expect(f.fault("m2") == nil, "one answer is not two")
  }

  @Test func peersOfAKilledLeaderAreNotNamedWhileItIsInTrouble() {
    var f = Fixture()
    f.allHealthy()
    // The leader dies; its peers' writes time out during the election.
    f.fail("c/m1|kv", .refused)
    for m in ["m2", "m3"] {
      f.fail("c/\(m)|kv", .timeout, reach: .accepting, took: .seconds(1))
      f.fail("c/\(m)|kv", .timeout, reach: .accepting, took: .seconds(1))
      f.fail("c/\(m)|kv", .timeout, reach: .accepting, confirmation: true, took: .seconds(1))
    }
    #expect(f.fault("m1") == .crashed)
    #expect(f.fault("m2") == nil)
    #expect(f.fault("m3") == nil)
    // A new leader is elected: the watch notices and asks for a probe of everything.
    f.directives = []
    f.ok("m2", leader: 2, raftIndex: 300)
    #expect(f.directives.contains(.noticed(cluster: "c", .leaderChanged(from: 1, to: 2))))
    #expect(f.directives.contains(.probeNow(cluster: "c", reason: "leader change")))
  }

  @Test func aRefusedConnectAfterACutOffProbeIsACrash() {
    var f = Fixture()
    f.allHealthy()
    // The probe was cut off as the process died, then the reachability check found nothing listening.
    f.fail("c/m3|kv", .interrupted, reach: .refused)
    f.fail("c/m3|kv", .interrupted, reach: .refused)
    f.fail("c/m3|kv", .interrupted, reach: .refused, confirmation: true)
    #expect(f.fault("m3") == .crashed)
  }

  @Test func aCutNetworkPathIsAPartition() {
    var f = Fixture()
    f.allHealthy()
    f.fail("c/m3|kv", .timeout, reach: .silent, took: .seconds(1))
    f.fail("c/m3|kv", .timeout, reach: .silent, took: .seconds(1))
    f.fail("c/m3|kv", .timeout, reach: .silent, confirmation: true, took: .seconds(1))
    #expect(f.fault("m3") == .partitioned)
  }

  @Test func twoVotersDownIsQuorumLost() {
    var f = Fixture()
    f.allHealthy()
    for m in ["m2", "m3"] {
      f.fail("c/\(m)|kv", .refused)
      f.fail("c/\(m)|kv", .refused)
      f.fail("c/\(m)|kv", .refused, confirmation: true)
    }
    #expect(f.watch.diagnoses["c"]?.first?.fault == .quorumLost)
  }

  @Test func aRemovedMemberTakesItsHealthDiagnosesAndIncidentWithIt() {
    var f = Fixture()
    f.allHealthy()
    f.fail("c/m3|kv", .refused)
    f.fail("c/m3|kv", .refused)
    f.fail("c/m3|kv", .refused, confirmation: true)
    #expect(f.fault("m3") == .crashed)
    #expect(f.watch.book.open["c/m3"] != nil)
    // Replaced: m3 removed, m3-1 joins as a learner.
    let change = f.watch.listed(
      [WatchMember(id: 1, name: "m1", isLearner: false), WatchMember(id: 2, name: "m2", isLearner: false),
       WatchMember(id: 4, name: "m3-1", isLearner: true)], cluster: "c", at: f.now + 1)
    #expect(change?.left.map(\.name) == ["m3"])
    #expect(change?.joined.map(\.name) == ["m3-1"])
    #expect(change?.directives.contains(.probeNow(cluster: "c", reason: "membership change")) == true)
    #expect(f.fault("m3") == nil)
    #expect(f.watch.book.open["c/m3"] == nil, "its incident is retired, not left open for the planner")
    #expect(f.health("m3") == .unknown)
    #expect(f.watch.learnerAge(cluster: "c", at: f.now + 11)[4] == .seconds(10))
    // The same list again is no change; the learner promoted is a role change.
    #expect(
      f.watch.listed(
        [WatchMember(id: 1, name: "m1", isLearner: false), WatchMember(id: 2, name: "m2", isLearner: false),
         WatchMember(id: 4, name: "m3-1", isLearner: true)], cluster: "c", at: f.now + 2) == nil)
    let promoted = f.watch.listed(
      [WatchMember(id: 1, name: "m1", isLearner: false), WatchMember(id: 2, name: "m2", isLearner: false),
       WatchMember(id: 4, name: "m3-1", isLearner: false)], cluster: "c", at: f.now + 3)
    #expect(promoted?.changedRole.map(\.name) == ["m3-1"])
    #expect(f.watch.learnerAge(cluster: "c", at: f.now + 4).isEmpty)
  }

  @Test func aHashMismatchFoundByInspectionIsCorruption() {
    var f = Fixture()
    f.allHealthy()
    let finding = Finding(
      check: "hash-mismatch", cluster: "c", member: "m2", severity: .critical, summary: "HashKV differs",
      evidence: ["revision 10"], action: "replace m2")
    _ = f.watch.inspected(cluster: "c", findings: [finding], alarms: [:], at: f.now + 1)
    #expect(f.fault("m2") == .corruption)
    #expect(f.watch.findings["c"] == [finding])
    // Clean again: the mismatch flag clears with the next inspection.
    _ = f.watch.inspected(cluster: "c", findings: [], alarms: [:], at: f.now + 2)
    f.ok("m2")
    #expect(f.fault("m2") == nil)
  }

  @Test func aNoSpaceAlarmNamesTheClusterIncidentToo() {
    var f = Fixture()
    f.allHealthy()
    // Every write is refused; the cluster probe fails and opens the cluster's incident.
    f.fail("c|kv", .badAnswer)
    f.fail("c|kv", .badAnswer)
    f.fail("c|kv", .badAnswer, confirmation: true)
    #expect(f.watch.book.open["c"] != nil)
    _ = f.watch.inspected(cluster: "c", findings: [], alarms: ["m1": ["NOSPACE"]], at: f.now + 1)
    f.fail("c|kv", .badAnswer)
    #expect(f.watch.book.open["c"]?.fault == .noSpace)
  }

  @Test func repairNotesGoIntoTheOpenIncidentAndMarkRecovery() {
    var f = Fixture()
    f.allHealthy()
    f.fail("c/m2|kv", .refused)
    let id = f.watch.book.open["c/m2"]!.id
    let d = f.watch.repaired(incident: id, text: "restart m2: done", at: f.now + 1, recovered: true)
    guard case .incident(.updated(let incident, let added), _)? = d else {
      Issue.record("expected an incident update, got \(String(describing: d))")
      return
    }
    #expect(incident.recoveredAt == f.now + 1)
    #expect(added.map(\.kind) == ["repair"])
    #expect(f.watch.repaired(incident: 999, text: "x", at: f.now, recovered: false) == nil)
  }

  @Test func subjectKeysReadBack() {
    #expect(Subject(key: "c/m1") == .member("m1", of: "c"))
    #expect(Subject(key: "c") == Subject(cluster: "c"))
    #expect(Subject.member("m1", of: "c").key == "c/m1")
    #expect(Subject(key: Subject(cluster: "prod-1", member: "m3-1").key).member == "m3-1")
  }
}
