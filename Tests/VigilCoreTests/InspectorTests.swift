import Testing

@testable import VigilCore

@Suite("Directed inspections (pure)")
struct InspectorTests {
  func member(
    _ name: String, id: UInt64, leader: UInt64 = 1, db: Int64 = 1 << 20, inUse: Int64 = 1 << 20,
    applied: UInt64 = 100, version: String = "3.4.23", learner: Bool = false, hash: UInt32? = nil
  ) -> MemberSnapshot {
    MemberSnapshot(
      name: name, id: id, endpoint: "http://\(name)", isLearner: learner,
      status: .init(
        version: version, dbSize: db, dbSizeInUse: inUse, leader: leader, raftIndex: applied,
        raftAppliedIndex: applied, raftTerm: 2),
      hash: hash, hashRevision: hash == nil ? nil : 50, hashCompactRevision: hash == nil ? nil : 0)
  }

  func checks(_ s: ClusterSnapshot, _ t: InspectionThresholds = InspectionThresholds()) -> [String] {
    Inspector.inspect(s, t).map(\.check).sorted()
  }

  @Test func aHealthyClusterHasNoFindings() {
    let s = ClusterSnapshot(
      cluster: "c", declaredMembers: 3,
      members: [member("a", id: 1, hash: 7), member("b", id: 2, hash: 7), member("c", id: 3, hash: 7)],
      quotaBytes: 2 << 30, now: 0)
    #expect(Inspector.inspect(s, InspectionThresholds()).isEmpty)
  }

  @Test func eachRiskIsFoundWithEvidenceAndAnAction() {
    var t = InspectionThresholds()
    t.fragmentationMinimumBytes = 0
    let s = ClusterSnapshot(
      cluster: "c", declaredMembers: 3,
      members: [
        member("a", id: 1, leader: 0, db: 900, inUse: 100, applied: 5000, hash: 7),
        member("b", id: 2, leader: 0, applied: 100, version: "3.5.0", hash: 9),
        member("c", id: 3, leader: 0, applied: 5000, hash: 7),
        MemberSnapshot(name: "d", id: 4, endpoint: "http://d", isLearner: true, error: "refused", learnerFor: .seconds(600)),
      ],
      quotaBytes: 1000, leaderChangesLastHour: 10,
      certificates: [CertificateExpiry(role: "peer", source: "d:2380", subject: "etcd-d", notAfter: 5 * 86_400)],
      now: 0, backupAge: .seconds(7200), backupMaxAge: .seconds(3600))
    let found = Inspector.inspect(s, t)
    let names = Set(found.map(\.check))
    #expect(
      names == [
        "learner-unpromoted", "unreachable", "no-leader", "leader-changes", "quota", "fragmentation", "hash-mismatch",
        "raft-lag", "version-skew", "certificate", "backup-age",
      ])
    #expect(found.first { $0.check == "hash-mismatch" }?.member == "b")
    #expect(found.first { $0.check == "raft-lag" }?.member == "b")
    #expect(found.first { $0.check == "certificate" }?.severity == .critical)
    #expect(found.allSatisfy { !$0.action.isEmpty && !$0.summary.isEmpty })
  }

  @Test func memberCountBelowDeclaredOrEvenIsFound() {
    let two = ClusterSnapshot(cluster: "c", declaredMembers: 3, members: [member("a", id: 1), member("b", id: 2)], quotaBytes: 1 << 30, now: 0)
    #expect(Inspector.inspect(two, InspectionThresholds()).first?.severity == .critical)
    let four = ClusterSnapshot(
      cluster: "c", declaredMembers: 4,
      members: [member("a", id: 1), member("b", id: 2), member("c", id: 3), member("d", id: 4)], quotaBytes: 1 << 30,
      now: 0)
    #expect(checks(four) == ["member-count"])
  }

  @Test func alarmsAreCriticalFindings() {
    var m = member("a", id: 1)
    m.alarms = ["NOSPACE"]
    let s = ClusterSnapshot(cluster: "c", members: [m], quotaBytes: 1 << 30, now: 0)
    let f = Inspector.inspect(s, InspectionThresholds())
    #expect(f.map(\.check) == ["alarm"])
    #expect(f[0].action.contains("disarm"))
  }
}

@Suite("Incidents (pure)")
struct IncidentBookTests {
  @Test func anIncidentOpensOnSuspectIsDetectedOnFailedAndClosesOnHealthy() {
    var book = IncidentBook()
    let opened = book.transition(
      cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .healthy, to: .suspect, evidence: ["refused"]),
      at: 100.3, lastGoodAt: 100.1)
    guard case .opened(let i)? = opened else {
      Issue.record("expected an opened incident")
      return
    }
    #expect(i.onsetAt == 100.1)
    #expect(i.detectedAt == nil)
    _ = book.probeFailed(subject: "c/m1", text: "kv: refused", at: 100.4)
    _ = book.transition(
      cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .suspect, to: .failed, evidence: []), at: 100.5,
      lastGoodAt: 100.1)
    let diagnosed = book.diagnosed(subject: "c/m1", Diagnosis(fault: .crashed, member: "m1", reason: "refused"), at: 100.5)
    #expect(diagnosed != nil)
    // The same diagnosis again adds nothing.
    #expect(book.diagnosed(subject: "c/m1", Diagnosis(fault: .crashed, member: "m1", reason: "refused"), at: 100.6) == nil)
    let closed = book.transition(
      cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .failed, to: .healthy, evidence: []), at: 110,
      lastGoodAt: 110)
    guard case .closed(let done, _)? = closed else {
      Issue.record("expected a closed incident")
      return
    }
    #expect(done.id == 1)
    #expect(abs(done.mttd! - 0.4) < 1e-9)
    #expect(done.fault == .crashed)
    #expect(done.timeline.map(\.kind) == ["transition", "probe-failure", "transition", "diagnosis", "transition"])
    #expect(book.open.isEmpty)
  }

  /// Replicas: the guard that hands a cluster over lets its incidents go unclosed; the next one adopts them and
  /// closes them when the subject is healthy, under the same id.
  @Test func aClusterHandedOverCarriesItsOpenIncidentsToTheNextGuard() {
    let failed = HealthTransition(from: .healthy, to: .failed, evidence: [])
    var first = IncidentBook(nextID: 1)
    _ = first.transition(cluster: "c", subject: "c/m1", member: "m1", failed, at: 10, lastGoodAt: 9)
    _ = first.transition(cluster: "d", subject: "d", member: nil, failed, at: 10, lastGoodAt: 9)
    let left = first.letGo(cluster: "c")
    #expect(left.map(\.subject) == ["c/m1"] && left[0].closedAt == nil)
    #expect(first.open.keys.sorted() == ["d"])

    var next = IncidentBook(nextID: 1 << 20 + 1)
    // A subject already open here keeps its own incident.
    _ = next.transition(cluster: "c", subject: "c", member: nil, failed, at: 11, lastGoodAt: 9)
    let own = next.open["c"]!.id
    next.adopt(left + [Incident(id: 99, cluster: "c", subject: "c", member: nil, openedAt: 10, onsetAt: 9, worst: .failed)])
    #expect(next.open["c"]?.id == own && next.open["c/m1"]?.id == left[0].id)
    let closed = next.transition(
      cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .failed, to: .healthy, evidence: []), at: 20,
      lastGoodAt: 20)
    guard case .closed(let incident, _)? = closed else {
      Issue.record("expected the adopted incident closed, got \(String(describing: closed))")
      return
    }
    #expect(incident.id == left[0].id && incident.closedAt == 20 && incident.openedAt == 10)
  }

  @Test func whatARepairCausesDoesNotRenameTheFaultButLostDataDoes() {
    var book = IncidentBook()
    _ = book.transition(
      cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .healthy, to: .failed, evidence: []), at: 10,
      lastGoodAt: 9)
    _ = book.diagnosed(subject: "c/m1", Diagnosis(fault: .hung, member: "m1", reason: "no answer"), at: 10)
    let id = book.open["c/m1"]!.id
    _ = book.repaired(incident: id, text: "plan unstick-member", at: 11, recovered: false)
    // Vigil killed it to restart it: refused connections for a moment.
    _ = book.diagnosed(subject: "c/m1", Diagnosis(fault: .crashed, member: "m1", reason: "refused"), at: 11.1)
    #expect(book.open["c/m1"]?.fault == .hung)
    #expect(book.open["c/m1"]?.timeline.last?.text.hasPrefix("crashed") == true)  // still on the timeline
    _ = book.diagnosed(subject: "c/m1", Diagnosis(fault: .dataLoss, member: "m1", reason: "empty data dir"), at: 12)
    #expect(book.open["c/m1"]?.fault == .dataLoss)
  }

  @Test func lostDataIsDetectedWhenNamedEvenBeforeAConfirmedFailure() {
    var book = IncidentBook()
    _ = book.transition(
      cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .healthy, to: .suspect, evidence: []), at: 10,
      lastGoodAt: 9.8)
    _ = book.diagnosed(subject: "c/m1", Diagnosis(fault: .crashed, member: "m1", reason: "refused"), at: 10)
    #expect(book.open["c/m1"]?.detectedAt == nil)  // a suspicion is not a detection
    _ = book.diagnosed(subject: "c/m1", Diagnosis(fault: .dataLoss, member: "m1", reason: "empty data dir"), at: 10.1)
    #expect(book.open["c/m1"]?.detectedAt == 10.1)
    #expect(abs((book.open["c/m1"]?.mttd ?? 0) - 0.3) < 1e-9)
  }

  @Test func restoredIncidentsCloseAndRetiredSubjectsEnd() {
    let old = Incident(id: 3, cluster: "c", subject: "c/m2", member: "m2", openedAt: 1, onsetAt: 1, worst: .failed)
    var book = IncidentBook(restoring: [old])
    #expect(book.nextID == 4)
    // After a restart the detector starts from unknown; reaching healthy still closes it.
    let closed = book.transition(
      cluster: "c", subject: "c/m2", member: "m2", HealthTransition(from: .unknown, to: .healthy, evidence: []), at: 5,
      lastGoodAt: 5)
    #expect(closed?.incident.closedAt == 5)
    _ = book.transition(
      cluster: "c", subject: "c/m3", member: "m3", HealthTransition(from: .healthy, to: .failed, evidence: []), at: 6,
      lastGoodAt: 5)
    #expect(book.retire(subject: "c/m3", reason: "member removed", at: 7)?.incident.closedAt == 7)
    // unknown → healthy without an incident opens nothing.
    #expect(
      book.transition(
        cluster: "c", subject: "c", member: nil, HealthTransition(from: .unknown, to: .healthy, evidence: []), at: 1,
        lastGoodAt: nil) == nil)
  }
}

@Suite("Cluster observer (pure)")
struct ClusterObserverTests {
  @Test func leaderChangesIdentityAndRegressionsAreNoticed() {
    var o = ClusterObserver()
    o.listed(name: "m1", id: 1, isLearner: false)
    o.listed(name: "m2", id: 2, isLearner: false)
    #expect(o.status(name: "m1", memberID: 1, clusterID: 9, leader: 1, raftIndex: 10, alarms: [], at: 0).isEmpty)
    let changed = o.status(name: "m2", memberID: 2, clusterID: 9, leader: 2, raftIndex: 12, alarms: [], at: 1)
    #expect(changed == [.leaderChanged(from: 1, to: 2)])
    #expect(o.leaderChanges(lastHourBefore: 10) == 1)
    #expect(o.leaderChanges(lastHourBefore: 4000) == 0)
    // Back with a shorter log under the same id: data loss.
    let regressed = o.status(name: "m1", memberID: 1, clusterID: 9, leader: 2, raftIndex: 3, alarms: [], at: 2)
    #expect(regressed == [.raftIndexRegressed(member: "m1", from: 10, to: 3)])
    #expect(Diagnoser.diagnose(o.signals(name: "m1", health: .healthy))?.fault == .dataLoss)
    // Another member id behind the same name: data loss too.
    _ = o.status(name: "m2", memberID: 5, clusterID: 9, leader: 2, raftIndex: 20, alarms: [], at: 3)
    #expect(Diagnoser.diagnose(o.signals(name: "m2", health: .healthy))?.reason.contains("different") == true)
  }

  @Test func aStalledRaftIndexWhilePeersMoveIsAPartition() {
    var o = ClusterObserver()
    for i in 0..<7 {
      _ = o.status(name: "a", memberID: 1, clusterID: 9, leader: 1, raftIndex: UInt64(100 + i), alarms: [], at: Double(i))
      _ = o.status(name: "b", memberID: 2, clusterID: 9, leader: 1, raftIndex: 50, alarms: [], at: Double(i))
    }
    #expect(o.signals(name: "b", health: .healthy).raftIndexStalled)
    #expect(!o.signals(name: "a", health: .healthy).raftIndexStalled)
    #expect(Diagnoser.diagnose(o.signals(name: "b", health: .healthy))?.fault == .partitioned)
  }
}
