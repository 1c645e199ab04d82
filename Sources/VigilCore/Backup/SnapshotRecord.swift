/// Why a full snapshot was taken.
public enum SnapshotReason: String, Sendable, Hashable, Codable {
  /// The tier's snapshot interval passed.
  case schedule
  /// Before a membership change (a repair asked for it).
  case membershipChange = "membership-change"
  /// The change log since the last snapshot passed its size or event bound.
  case logBound = "log-bound"
  /// The change log's watch found its start revision compacted: the log has a gap.
  case compactionGap = "compaction-gap"
  /// The first snapshot of a cluster, or one asked for by a person.
  case start
  case manual
}

/// What restoring a stored snapshot into a scratch etcd showed.
public enum VerificationState: String, Sendable, Hashable, Codable {
  case pending
  case verified
  case failed
}

/// A stored full snapshot's metadata (kept as JSON beside the snapshot, so the store describes itself).
public struct SnapshotRecord: Sendable, Hashable, Codable {
  /// Sortable id: the UTC time it was taken (`20261130T142500.123Z`).
  public var id: String
  public var cluster: String
  /// etcd's cluster id, hex.
  public var clusterID: String
  /// The member it was streamed from.
  public var member: String
  /// The store revision the snapshot holds (found by restoring it; 0 until verified).
  public var revision: Int64
  /// The source's revision just before the stream began: the snapshot holds at least this.
  public var revisionAtStart: Int64
  /// HashKV of the source at ``revision``, and the compaction revision it was computed under (a restored copy
  /// compacted to the same revision must hash alike).
  public var sourceHashKV: UInt32?
  public var sourceCompactRevision: Int64?
  /// Bytes, etcd's trailing sha256 included.
  public var size: Int64
  /// etcd's trailing sha256 of the database, hex (checked when the stream ends).
  public var sha256: String
  public var etcdVersion: String
  /// Seconds since 1970.
  public var takenAt: Double
  public var reason: SnapshotReason
  public var verification: VerificationState = .pending
  public var verifiedAt: Double?
  /// What verification compared, or why it failed.
  public var verificationDetail: String?

  public init(
    id: String, cluster: String, clusterID: String, member: String, revisionAtStart: Int64, size: Int64, sha256: String,
    etcdVersion: String, takenAt: Double, reason: SnapshotReason
  ) {
    self.id = id
    self.cluster = cluster
    self.clusterID = clusterID
    self.member = member
    self.revision = 0
    self.revisionAtStart = revisionAtStart
    self.size = size
    self.sha256 = sha256
    self.etcdVersion = etcdVersion
    self.takenAt = takenAt
    self.reason = reason
  }

  /// The revision from which the change log must cover the history for this snapshot to be restored to
  /// the present: the verified revision, else the lower bound.
  public var coveredRevision: Int64 { revision > 0 ? revision : revisionAtStart }
}

/// A sealed change-log segment: every event of revisions `firstRevision...lastRevision`.
public struct SegmentInfo: Sendable, Hashable {
  public var key: String
  public var firstRevision: Int64
  public var lastRevision: Int64
  public var size: Int64

  public init(key: String, firstRevision: Int64, lastRevision: Int64, size: Int64) {
    self.key = key
    self.firstRevision = firstRevision
    self.lastRevision = lastRevision
    self.size = size
  }
}

/// Where a cluster's backups live in a store: `CLUSTER/snapshots/ID.db` (+ `.json`),
/// `CLUSTER/changelog/FIRST-LAST.log` (revisions zero-padded to 19 digits, so keys sort by revision) and
/// `CLUSTER/watermark.json` (the highest revision Vigil saw on the cluster).
public enum BackupLayout {
  public static func snapshotsPrefix(_ cluster: String) -> String { "\(cluster)/snapshots/" }
  public static func snapshotKey(_ cluster: String, _ id: String) -> String { "\(cluster)/snapshots/\(id).db" }
  public static func recordKey(_ cluster: String, _ id: String) -> String { "\(cluster)/snapshots/\(id).json" }
  public static func changeLogPrefix(_ cluster: String) -> String { "\(cluster)/changelog/" }
  public static func watermarkKey(_ cluster: String) -> String { "\(cluster)/watermark.json" }

  public static func segmentKey(_ cluster: String, first: Int64, last: Int64) -> String {
    "\(cluster)/changelog/\(padded(first))-\(padded(last)).log"
  }

  /// The revisions a segment key names, or nil for a key that is not a segment.
  public static func segment(key: String, size: Int64) -> SegmentInfo? {
    guard key.hasSuffix(".log") else { return nil }
    let name = key.split(separator: "/").last.map(String.init) ?? key
    let parts = name.dropLast(4).split(separator: "-")
    guard parts.count == 2, let first = Int64(parts[0]), let last = Int64(parts[1]), first <= last else { return nil }
    return SegmentInfo(key: key, firstRevision: first, lastRevision: last, size: size)
  }

  static func padded(_ revision: Int64) -> String {
    let digits = String(revision)
    return String(repeating: "0", count: max(0, 19 - digits.count)) + digits
  }
}
