import Foundation
import VigilCore

/// A cluster's backups as the store holds them: snapshot records (JSON beside each snapshot), sealed
/// change-log segments and the revision watermark. The store is the catalogue: `vigil backup list` works
/// from the store alone.
public struct BackupCatalogue: Sendable {
  public let store: any BackupStore
  public let cluster: String

  public init(store: any BackupStore, cluster: String) {
    self.store = store
    self.cluster = cluster
  }

  static let encoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    return e
  }()

  public func save(_ record: SnapshotRecord) async throws(BackupStoreError) {
    let data = (try? Self.encoder.encode(record)) ?? Data()
    try await store.put(BackupLayout.recordKey(cluster, record.id), data: data)
  }

  /// Every snapshot record, oldest first; unreadable records are skipped and named in `problems`.
  public func snapshots() async throws(BackupStoreError) -> (records: [SnapshotRecord], problems: [String]) {
    var records: [SnapshotRecord] = []
    var problems: [String] = []
    for object in try await store.list(prefix: BackupLayout.snapshotsPrefix(cluster)) where object.key.hasSuffix(".json") {
      let data = try await store.data(object.key)
      if let record = try? JSONDecoder().decode(SnapshotRecord.self, from: data) {
        records.append(record)
      } else {
        problems.append("\(object.key) is not a snapshot record")
      }
    }
    return (records.sorted { $0.takenAt < $1.takenAt }, problems)
  }

  /// Sealed change-log segments, in revision order.
  public func segments() async throws(BackupStoreError) -> [SegmentInfo] {
    try await store.list(prefix: BackupLayout.changeLogPrefix(cluster)).compactMap {
      BackupLayout.segment(key: $0.key, size: $0.size)
    }.sorted { $0.firstRevision < $1.firstRevision }
  }

  /// The records of the given segments, in order, ending at `through` if given.
  public func records(of segments: [SegmentInfo], after revision: Int64, through: Int64? = nil)
    async throws -> [ChangeRecord]
  {
    var out: [ChangeRecord] = []
    for segment in segments {
      let data = try await store.data(segment.key)
      let decoded = ChangeLogFormat.decode(data)
      if let damage = decoded.damage {
        throw BackupError("\(segment.key): \(damage); the change log cannot be replayed past revision \(decoded.records.last?.revision ?? segment.firstRevision - 1)")
      }
      for r in decoded.records where r.revision > revision && r.revision > (out.last?.revision ?? 0) {
        if let through, r.revision > through { return out }
        out.append(r)
      }
    }
    return out
  }

  /// The highest revision Vigil saw on the cluster (0 if none is recorded).
  public func watermark() async -> Int64 {
    guard let data = try? await store.data(BackupLayout.watermarkKey(cluster)),
      let mark = try? JSONDecoder().decode(Watermark.self, from: data)
    else { return 0 }
    return mark.revision
  }

  public func saveWatermark(_ revision: Int64, at time: Double) async throws(BackupStoreError) {
    let data = (try? Self.encoder.encode(Watermark(revision: revision, at: time))) ?? Data()
    try await store.put(BackupLayout.watermarkKey(cluster), data: data)
  }

  struct Watermark: Codable {
    var revision: Int64
    var at: Double
  }
}
