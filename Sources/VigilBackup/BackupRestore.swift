import Foundation
import Logging
import VigilCore
import VigilEtcd
import VigilRuntime

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
  /// Seconds spent starting the scratch etcd, replaying, raising the revision, and streaming the result.
  public var phases: [String: Double] = [:]

  /// `start 0.41 s, replay 0.20 s, …` for step details and logs.
  public var phaseSummary: String {
    ["start", "replay", "bump", "snapshot"].compactMap { k in phases[k].map { "\(k) \(String(format: "%.2f", $0)) s" } }
      .joined(separator: ", ")
  }
}

/// A restore before the new cluster starts (a runtime driver or `vigil backup restore` starts it):
/// ``prepare(store:cluster:target:directory:extra:)`` picks and fetches, ``rebuild(_:directory:margin:leaseTTL:logger:)``
/// replays, bumps and compacts offline into the snapshot every member is restored from.
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

  /// Builds the restore's final snapshot offline, so no client ever sees a revision lower than one it saw
  /// before: the snapshot is restored into a scratch one-member etcd on a private port, the records are
  /// replayed (one transaction per source revision), the revision is raised `margin` above the watermark and
  /// compacted there, and the result is streamed out as a new snapshot. Every member of the new cluster is
  /// then restored from that file (plain `etcdctl snapshot restore` reads it too).
  /// - Returns: what was restored, and the final snapshot's path (in `directory`).
  public static func rebuild(
    _ inputs: RestoreInputs, directory: String, margin: Int64, leaseTTL: Int64, logger: Logger = Logger(label: "vigil.restore")
  ) async throws -> (outcome: RestoreOutcome, file: String) {
    let scratch = ScratchEtcd.directory(fallback: directory, name: "rebuild", needs: inputs.snapshot.size)
    var phases: [String: Double] = [:]
    var mark = ContinuousClock.now
    func lap(_ name: String) {
      phases[name] = (ContinuousClock.now - mark).seconds
      mark = ContinuousClock.now
    }
    let file = (directory as NSString).appendingPathComponent("rebuilt-\(inputs.snapshot.id).db")
    let (restored, final) = try await ScratchEtcd.with(
      snapshot: inputs.file, directory: scratch, what: "snapshot \(inputs.snapshot.id)", logger: logger
    ) { client in
      lap("start")
      let replay = ChangeLogReplay(client: client, leaseTTL: leaseTTL)
      let restored = try await replay.replay(inputs.records)
      lap("replay")
      let final = try await replay.bumpAndCompact(to: max(inputs.watermark, restored) + margin)
      lap("bump")
      do { try await client.withCallTimeout(.seconds(600)).maintenance.snapshot(to: file) } catch {
        throw BackupError("cannot stream the rebuilt snapshot: \(error)")
      }
      lap("snapshot")
      return (restored, final)
    }
    let outcome = RestoreOutcome(
      snapshot: inputs.snapshot.id, snapshotRevision: inputs.snapshot.revision, restoredRevision: restored,
      finalRevision: final, replayedRecords: inputs.records.filter { $0.revision > inputs.snapshot.revision }.count,
      dataTime: inputs.dataTime, phases: phases)
    return (outcome, file)
  }
}
