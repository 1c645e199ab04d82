import Foundation
import VigilCore
import VigilEtcd

/// What a restore is about to use: the snapshot (fetched to a local file) and the change-log records on top.
public struct RestoreInputs: Sendable {
  public var snapshot: SnapshotRecord
  /// The fetched snapshot file, checked against its recorded sha256.
  public var file: String
  /// Records after the snapshot's revision, up to the target, in order.
  public var records: [ChangeRecord]
  /// The highest revision Vigil recorded for the cluster.
  public var watermark: Int64

  /// The revision the restored data ends at.
  public var dataRevision: Int64 { records.last?.revision ?? snapshot.revision }
  /// When the newest restored change reached Vigil (seconds since 1970).
  public var dataTime: Double { records.last?.receivedAt ?? snapshot.takenAt }
}

/// What a restore did, for the incident, the report and the CLI.
public struct RestoreOutcome: Sendable, Hashable, Codable {
  public var snapshot: String
  public var snapshotRevision: Int64
  /// The last source revision replayed.
  public var restoredRevision: Int64
  /// The revision clients see after the bump (above everything they saw before).
  public var finalRevision: Int64
  public var replayedRecords: Int
  /// When the newest restored change reached Vigil.
  public var dataTime: Double
}

/// A restore's two halves around starting the new cluster (which a runtime driver or `vigil backup restore`
/// does): ``prepare(store:cluster:target:directory:extra:)`` picks and fetches, ``finish(client:inputs:margin:leaseTTL:)``
/// replays, bumps and compacts.
public enum BackupRestore {
  /// Picks the newest verified snapshot at or before `target` and the change log after it, and fetches the
  /// snapshot into `directory`.
  /// - Parameter extra: records not sealed into the store yet (the open segment of a running Vigil).
  public static func prepare(
    store: any BackupStore, cluster: String, target: RestoreTarget, directory: String, extra: [ChangeRecord] = []
  ) async throws -> RestoreInputs {
    let catalogue = BackupCatalogue(store: store, cluster: cluster)
    let snapshots = try await catalogue.snapshots().records
    let segments = try await catalogue.segments()
    let selection: RestoreSelection
    switch RestoreChoice.choose(snapshots: snapshots, segments: segments, target: target) {
    case .success(let s): selection = s
    case .failure(let e): throw BackupError("\(cluster): cannot restore to \(target): \(e)")
    }
    var through: Int64?
    if case .revision(let r) = target { through = r }
    var records = try await catalogue.records(of: selection.segments, after: selection.snapshot.revision, through: through)
    for r in extra where r.revision > (records.last?.revision ?? selection.snapshot.revision) {
      if let through, r.revision > through { break }
      records.append(r)
    }
    if case .time(let t) = target { records = Array(records.prefix { $0.receivedAt <= t }) }
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let file = (directory as NSString).appendingPathComponent("\(selection.snapshot.id).db")
    try await store.get(BackupLayout.snapshotKey(cluster, selection.snapshot.id), to: file)
    guard try SnapshotTaker.checkTrailingDigest(file) == selection.snapshot.sha256 else {
      throw BackupError("\(cluster): snapshot \(selection.snapshot.id) in the store differs from the one recorded")
    }
    let watermark = max(await catalogue.watermark(), records.last?.revision ?? 0)
    return RestoreInputs(snapshot: selection.snapshot, file: file, records: records, watermark: watermark)
  }

  /// On the started new cluster: replays the records (one transaction per source revision), raises the
  /// revision `margin` above the watermark and compacts there.
  public static func finish(client: EtcdClient, inputs: RestoreInputs, margin: Int64, leaseTTL: Int64) async throws
    -> RestoreOutcome
  {
    let replay = ChangeLogReplay(client: client, leaseTTL: leaseTTL)
    let restored = try await replay.replay(inputs.records)
    let final = try await replay.bumpAndCompact(to: max(inputs.watermark, restored) + margin)
    return RestoreOutcome(
      snapshot: inputs.snapshot.id, snapshotRevision: inputs.snapshot.revision, restoredRevision: restored,
      finalRevision: final, replayedRecords: inputs.records.count, dataTime: inputs.dataTime)
  }
}
