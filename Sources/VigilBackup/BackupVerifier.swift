import Foundation
import Logging
import VigilCore
import VigilEtcd
import VigilRuntime

/// Proves a stored snapshot restores: fetches it from the store, restores it with `etcdctl snapshot restore`
/// into a scratch one-member etcd (the local runtime), and compares it with the source — the revision it
/// holds, HashKV at that revision, a sample of keys read back — then replays the change log on top and
/// compares revision and HashKV again.
public struct BackupVerifier: Sendable {
  public let cluster: String
  /// The source cluster.
  public let client: EtcdClient
  public let store: any BackupStore
  /// Scratch space for the fetched file and the scratch etcd.
  public let scratch: String
  public let leaseTTL: Int64
  public let logger: Logger

  public init(cluster: String, client: EtcdClient, store: any BackupStore, scratch: String, leaseTTL: Int64, logger: Logger) {
    self.cluster = cluster
    self.client = client
    self.store = store
    self.scratch = scratch
    self.leaseTTL = leaseTTL
    self.logger = logger
  }

  /// Verifies `record` and returns it updated (verified or failed, with what was compared); stores the update.
  public func verify(_ record: SnapshotRecord, changeLog: [ChangeRecord] = [], now: @Sendable () -> Double) async
    -> SnapshotRecord
  {
    var updated = record
    do {
      let (revision, hash, detail) = try await check(record, changeLog: changeLog)
      updated.revision = revision
      updated.sourceHashKV = hash.hash
      updated.sourceCompactRevision = hash.compactRevision
      updated.verification = .verified
      updated.verificationDetail = detail
    } catch {
      updated.verification = .failed
      updated.verificationDetail = "\(error)"
    }
    updated.verifiedAt = now()
    do { try await BackupCatalogue(store: store, cluster: cluster).save(updated) } catch {
      logger.error("cannot store the verification of a snapshot", metadata: ["cluster": "\(cluster)", "error": "\(error)"])
    }
    return updated
  }

  func check(_ record: SnapshotRecord, changeLog: [ChangeRecord]) async throws -> (Int64, EtcdHashKV, String) {
    try await Self.withStoredSnapshot(record, store: store, scratch: scratch, logger: logger) { restored in
      try await compare(record, restored: restored, changeLog: changeLog)
    }
  }

  /// Fetches `record`'s snapshot from the store, checks its sha256 against the record, and runs `body` with a
  /// client of a scratch etcd restored from it (stopped and removed afterwards).
  static func withStoredSnapshot<T: Sendable>(
    _ record: SnapshotRecord, store: any BackupStore, scratch: String, logger: Logger, _ body: (EtcdClient) async throws -> T
  ) async throws -> T {
    let dir = ScratchEtcd.directory(fallback: scratch, name: "verify-\(record.id)", needs: record.size)
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let file = dir + "/snapshot.db"
    try await store.get(BackupLayout.snapshotKey(record.cluster, record.id), to: file)
    guard try SnapshotTaker.checkTrailingDigest(file) == record.sha256 else {
      throw BackupError("the stored snapshot's sha256 differs from the one recorded when it was taken")
    }
    return try await ScratchEtcd.with(snapshot: file, directory: dir + "/etcd", what: "the snapshot", logger: logger, body)
  }

  func compare(_ record: SnapshotRecord, restored: EtcdClient, changeLog: [ChangeRecord]) async throws -> (
    Int64, EtcdHashKV, String
  ) {
    let replay = ChangeLogReplay(client: restored, leaseTTL: leaseTTL)
    let revision = try await replay.revision()
    guard revision >= record.revisionAtStart else {
      throw BackupError("the snapshot holds revision \(revision), older than \(record.revisionAtStart) when it was taken")
    }
    let source = try await hashes(at: revision, restored: restored)
    // A sample of keys, read back at the snapshot's revision from both.
    let sample: EtcdRangeResult
    let original: EtcdRangeResult
    do {
      // Values included (HashKV covers every key's metadata already): a few large values are megabytes.
      sample = try await restored.withCallTimeout(.seconds(60)).kv.range("", prefix: true, limit: 16)
      original = try await client.withCallTimeout(.seconds(60)).kv.range("", prefix: true, limit: 16, revision: revision)
    } catch {
      throw BackupError("cannot read the key sample: \(error.message)")
    }
    guard sample.kvs == original.kvs, sample.count == original.count else {
      throw BackupError("the key sample differs at revision \(revision) (\(sample.count) keys restored, \(original.count) in the source)")
    }
    var detail =
      "revision \(revision): HashKV \(source.hash) equal to the source's, \(sample.kvs.count) of \(sample.count) keys read back equal"
    let after = changeLog.filter { $0.revision > revision }
    if !after.isEmpty {
      let last = try await replay.replay(after)
      let replayed = try await hashes(at: last, restored: restored)
      detail += "; change log replayed to revision \(last): HashKV \(replayed.hash) equal"
    }
    return (revision, source, detail)
  }

  /// HashKV of the source and the restored etcd at `revision`, compacted alike; throws unless equal.
  func hashes(at revision: Int64, restored: EtcdClient) async throws -> EtcdHashKV {
    let source: EtcdHashKV
    do { source = try await sourceHashKV(revision) } catch {
      throw BackupError("cannot read the source's HashKV at revision \(revision): \(error.message)")
    }
    do {
      let mine = try await restored.maintenance.hashKV(revision: revision)
      if mine.compactRevision < source.compactRevision {
        try await restored.kv.compact(revision: source.compactRevision, physical: true)
      }
      let after = try await restored.maintenance.hashKV(revision: revision)
      guard after.hash == source.hash else {
        throw BackupError(
          "HashKV at revision \(revision) differs: restored \(after.hash), source \(source.hash) (compacted at \(source.compactRevision))")
      }
      return source
    } catch let error as EtcdError {
      throw BackupError("cannot read the restored etcd's HashKV at revision \(revision): \(error.message)")
    }
  }

  /// HashKV at `revision` from a member of the source that answers.
  func sourceHashKV(_ revision: Int64) async throws(EtcdError) -> EtcdHashKV {
    var last = EtcdError(.unavailable, "no member answered")
    for endpoint in client.endpoints {
      let pinned = client.member(endpoint)
      do {
        let h = try await pinned.maintenance.hashKV(revision: revision)
        await pinned.shutdown()
        return h
      } catch {
        await pinned.shutdown()
        if error.code == .compacted { throw error }
        last = error
      }
    }
    throw last
  }
}

extension BackupVerifier {
  /// Checks a stored snapshot again without its source (`vigil backup verify`): the file's sha256 against its
  /// record, a real restore, the revision and the HashKV recorded when it was first verified, and the change
  /// log after it replayed on top with every revision lining up.
  /// - Returns: what was checked.
  public static func recheck(
    _ record: SnapshotRecord, store: any BackupStore, scratch: String, leaseTTL: Int64 = 60, logger: Logger
  ) async throws -> String {
    guard record.verification == .verified, let expected = record.sourceHashKV else {
      throw BackupError("snapshot \(record.id) was never verified against its source (\(record.verification.rawValue)); nothing recorded to compare with")
    }
    return try await withStoredSnapshot(record, store: store, scratch: scratch, logger: logger) { client in
      let replay = ChangeLogReplay(client: client, leaseTTL: leaseTTL)
      let revision = try await replay.revision()
      guard revision == record.revision else {
        throw BackupError("the snapshot restores at revision \(revision), recorded \(record.revision)")
      }
      if let compact = record.sourceCompactRevision, compact > 0,
        try await client.maintenance.hashKV(revision: revision).compactRevision < compact
      {
        try await client.kv.compact(revision: compact, physical: true)
      }
      let hash = try await client.maintenance.hashKV(revision: revision).hash
      guard hash == expected else {
        throw BackupError("HashKV at revision \(revision) is \(hash), recorded \(expected) when it was verified")
      }
      let catalogue = BackupCatalogue(store: store, cluster: record.cluster)
      // The segments that continue this snapshot without a gap (a later gap belongs to a later snapshot).
      let chain = try RestoreChoice.choose(snapshots: [record], segments: try await catalogue.segments(), target: .latest).get()
      let log = try await catalogue.records(of: chain.segments, after: record.revision)
      let last = try await replay.replay(log)
      return "snapshot \(record.id): sha256 intact, restores at revision \(revision) with HashKV \(hash) as recorded; change log replayed \(log.count) revision(s) to \(last) in order"
    }
  }
}
