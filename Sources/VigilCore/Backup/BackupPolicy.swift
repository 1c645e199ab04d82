/// How often full snapshots are taken and how long the change log may grow before the next one.
public struct BackupPolicy: Sendable, Hashable {
  /// A full snapshot at least this often (the tier's interval).
  public var snapshotInterval: Duration = .seconds(3600)
  /// A new full snapshot once the log since the last one holds this many events …
  public var logMaxEvents = 100_000
  /// … or this many bytes, so a restore's replay stays short.
  public var logMaxBytes: Int64 = 64 << 20
  /// Which full snapshots are kept.
  public var retention = RetentionPolicy()

  public init() {}
}

/// What the scheduler knows about a cluster's backups at one moment.
public struct BackupProgress: Sendable, Hashable {
  /// When the newest full snapshot was taken (nil: none yet).
  public var lastSnapshotAt: Double?
  /// Change-log events and bytes persisted since that snapshot.
  public var eventsSinceSnapshot = 0
  public var bytesSinceSnapshot: Int64 = 0
  /// The change log found its start revision compacted and has not been mended by a snapshot yet.
  public var compactionGap = false

  public init(lastSnapshotAt: Double? = nil) { self.lastSnapshotAt = lastSnapshotAt }
}

/// The pure schedule: whether a full snapshot is due now, and why.
public enum BackupSchedule {
  public static func snapshotDue(_ progress: BackupProgress, now: Double, policy: BackupPolicy) -> SnapshotReason? {
    if progress.compactionGap { return .compactionGap }
    guard let last = progress.lastSnapshotAt else { return .start }
    if progress.eventsSinceSnapshot >= policy.logMaxEvents || progress.bytesSinceSnapshot >= policy.logMaxBytes {
      return .logBound
    }
    if now - last >= policy.snapshotInterval.seconds { return .schedule }
    return nil
  }

  /// Seconds until the interval makes the next snapshot due (0: due now).
  public static func untilDue(_ progress: BackupProgress, now: Double, policy: BackupPolicy) -> Double {
    guard let last = progress.lastSnapshotAt else { return 0 }
    return max(0, last + policy.snapshotInterval.seconds - now)
  }
}
