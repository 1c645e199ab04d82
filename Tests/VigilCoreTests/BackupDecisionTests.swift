import Testing
import VigilCore

/// The backup engine's pure decisions: when a snapshot is due, what retention keeps, what a restore uses.
@Suite("Backup decisions")
struct BackupDecisionTests {
  static func snapshot(_ id: String, at: Double, revision: Int64, _ state: VerificationState = .verified) -> SnapshotRecord {
    var r = SnapshotRecord(
      id: id, cluster: "c", clusterID: "1", member: "m1", revisionAtStart: revision, size: 10, sha256: "", etcdVersion: "3.4",
      takenAt: at, reason: .schedule)
    r.revision = state == .verified ? revision : 0
    r.verification = state
    return r
  }

  @Test func aSnapshotIsDueAtStartOnScheduleOnTheLogBoundAndAtOnceAfterAGap() {
    var policy = BackupPolicy()
    policy.snapshotInterval = .seconds(900)
    policy.logMaxEvents = 1000
    policy.logMaxBytes = 1 << 20
    #expect(BackupSchedule.snapshotDue(BackupProgress(), now: 0, policy: policy) == .start)
    var p = BackupProgress(lastSnapshotAt: 100)
    #expect(BackupSchedule.snapshotDue(p, now: 999, policy: policy) == nil)
    #expect(BackupSchedule.snapshotDue(p, now: 1000, policy: policy) == .schedule)
    #expect(BackupSchedule.untilDue(p, now: 400, policy: policy) == 600)
    p.eventsSinceSnapshot = 1000
    #expect(BackupSchedule.snapshotDue(p, now: 200, policy: policy) == .logBound)
    p.eventsSinceSnapshot = 0
    p.bytesSinceSnapshot = 1 << 20
    #expect(BackupSchedule.snapshotDue(p, now: 200, policy: policy) == .logBound)
    p.bytesSinceSnapshot = 0
    p.compactionGap = true
    #expect(BackupSchedule.snapshotDue(p, now: 200, policy: policy) == .compactionGap)
  }

  @Test func retentionKeepsTheNewestPerHourAndDayAndNeverTheNewestVerified() {
    // Snapshots every 20 minutes over two days, all verified.
    var all: [SnapshotRecord] = []
    for i in 0..<144 { all.append(Self.snapshot("s\(i)", at: Double(i) * 1200, revision: Int64(i + 1) * 100)) }
    let segments = all.map { SegmentInfo(key: "c/changelog/\($0.id)", firstRevision: $0.revision - 99, lastRevision: $0.revision, size: 1) }
    let decision = Retention.prune(snapshots: all, segments: segments, policy: RetentionPolicy(hourly: 3, daily: 7))
    let kept = Set(all.map(\.id)).subtracting(decision.snapshots.map(\.id))
    // The newest of each of the newest 3 hours, and the newest of each day (2 days; one is the newest hour's).
    #expect(kept == ["s143", "s140", "s137", "s71"])
    // Segments stay while a kept snapshot needs them: those after the oldest kept snapshot's revision.
    #expect(decision.segments.allSatisfy { $0.lastRevision <= 7200 })
    #expect(!decision.segments.contains { $0.lastRevision > 7200 })
  }

  @Test func theNewestVerifiedSnapshotAndNewerPendingOnesSurviveEvenWithNoTiers() {
    let all = [
      Self.snapshot("a", at: 0, revision: 10), Self.snapshot("b", at: 10, revision: 20),
      Self.snapshot("c", at: 20, revision: 30, .failed), Self.snapshot("d", at: 30, revision: 40, .pending),
    ]
    let decision = Retention.prune(snapshots: all, segments: [], policy: RetentionPolicy(hourly: 0, daily: 0))
    #expect(decision.snapshots.map(\.id) == ["a", "c"])
  }

  @Test func aRestoreUsesTheNewestVerifiedSnapshotAtOrBeforeItsTargetAndTheSegmentsWithoutAGap() {
    let snapshots = [
      Self.snapshot("old", at: 0, revision: 100), Self.snapshot("new", at: 100, revision: 300),
      Self.snapshot("pending", at: 200, revision: 500, .pending),
    ]
    let segments = [
      SegmentInfo(key: "a", firstRevision: 90, lastRevision: 250, size: 1),
      SegmentInfo(key: "b", firstRevision: 251, lastRevision: 400, size: 1),
      SegmentInfo(key: "gap", firstRevision: 450, lastRevision: 500, size: 1),
    ]
    let latest = try? RestoreChoice.choose(snapshots: snapshots, segments: segments, target: .latest).get()
    #expect(latest?.snapshot.id == "new")
    #expect(latest?.segments.map(\.key) == ["b"])  // "gap" does not continue revision 400
    let early = try? RestoreChoice.choose(snapshots: snapshots, segments: segments, target: .revision(200)).get()
    #expect(early?.snapshot.id == "old")
    #expect(early?.segments.map(\.key) == ["a"])
    let byTime = try? RestoreChoice.choose(snapshots: snapshots, segments: segments, target: .time(50)).get()
    #expect(byTime?.snapshot.id == "old")
    if case .failure(let e) = RestoreChoice.choose(snapshots: snapshots, segments: segments, target: .revision(50)) {
      #expect(e.description.contains("oldest verified holds revision 100"))
    } else {
      Issue.record("a revision before every verified snapshot must not be restorable")
    }
  }

  @Test func segmentKeysSortByRevisionAndParseBack() {
    let key = BackupLayout.segmentKey("c", first: 9, last: 12)
    #expect(key == "c/changelog/0000000000000000009-0000000000000000012.log")
    #expect(BackupLayout.segment(key: key, size: 5) == SegmentInfo(key: key, firstRevision: 9, lastRevision: 12, size: 5))
    #expect(BackupLayout.segment(key: "c/changelog/x.log", size: 1) == nil)
    #expect(BackupLayout.segmentKey("c", first: 100, last: 100) > BackupLayout.segmentKey("c", first: 99, last: 99))
  }
}
