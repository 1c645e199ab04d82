/// Which full snapshots are kept: the newest one of each of the newest `hourly` hours, `daily` days and
/// `weekly` weeks (UTC), every snapshot newer than the newest verified one (still to be verified), and always
/// the newest verified snapshot. Change-log segments stay while a kept snapshot needs them.
public struct RetentionPolicy: Sendable, Hashable {
  public var hourly = 3
  public var daily = 7
  public var weekly = 0

  public init(hourly: Int = 3, daily: Int = 7, weekly: Int = 0) {
    self.hourly = hourly
    self.daily = daily
    self.weekly = weekly
  }
}

/// What retention removes, and why each is removed (for the log and the audit).
public struct PruneDecision: Sendable, Hashable {
  public var snapshots: [SnapshotRecord] = []
  public var segments: [SegmentInfo] = []
  public var isEmpty: Bool { snapshots.isEmpty && segments.isEmpty }
}

public enum Retention {
  public static func prune(snapshots: [SnapshotRecord], segments: [SegmentInfo], policy: RetentionPolicy)
    -> PruneDecision
  {
    let sorted = snapshots.sorted { $0.takenAt > $1.takenAt }  // newest first
    var keep = Set<String>()
    let newestVerified = sorted.first { $0.verification == .verified }
    if let newestVerified {
      keep.insert(newestVerified.id)
      for s in sorted where s.takenAt > newestVerified.takenAt && s.verification != .failed { keep.insert(s.id) }
    } else {
      for s in sorted where s.verification != .failed { keep.insert(s.id) }  // nothing verified yet: keep all
    }
    let candidates = sorted.filter { $0.verification == .verified }
    for (period, count) in [(3600.0, policy.hourly), (86_400.0, policy.daily), (604_800.0, policy.weekly)] where count > 0 {
      var buckets: [Int64] = []
      for s in candidates {
        let bucket = Int64((s.takenAt / period).rounded(.down))
        if buckets.last == bucket { continue }  // an older snapshot in a bucket already kept
        guard buckets.count < count else { break }
        buckets.append(bucket)
        keep.insert(s.id)
      }
    }
    var decision = PruneDecision()
    decision.snapshots = sorted.filter { !keep.contains($0.id) }.reversed()
    // A segment is needed while it holds a revision after the oldest kept snapshot's.
    let kept = sorted.filter { keep.contains($0.id) }
    if let oldest = kept.map(\.coveredRevision).min() {
      decision.segments = segments.filter { $0.lastRevision <= oldest }.sorted { $0.firstRevision < $1.firstRevision }
    }
    return decision
  }
}
