import Foundation
import VigilEtcd

/// Replays change-log records into a restored cluster, one transaction per source revision, so each
/// replayed revision equals the source's; then raises the revision above anything clients saw and compacts
/// there, so a watch or a cache from before the restore fails as compacted and relists instead of silently
/// missing changes (etcd 3.4 has no `--bump-revision`).
public struct ChangeLogReplay: Sendable {
  public let client: EtcdClient
  /// TTL of the leases re-created for replayed keys that had one (the source's TTL is not in the log).
  public let leaseTTL: Int64

  public init(client: EtcdClient, leaseTTL: Int64) {
    self.client = client
    self.leaseTTL = leaseTTL
  }

  /// The cluster's current store revision.
  public func revision() async throws -> Int64 {
    do { return try await client.kv.range("", prefix: true, limit: 1, keysOnly: true).revision } catch {
      throw BackupError("cannot read the restored cluster's revision: \(error.message)")
    }
  }

  /// Applies every record after the cluster's current revision.
  /// - Returns: the revision after the last record (the current one if none applied).
  @discardableResult
  public func replay(_ records: [ChangeRecord]) async throws -> Int64 {
    var current = try await revision()
    var leases = Set<Int64>()
    for record in records where record.revision > current {
      guard record.revision == current + 1 else {
        throw BackupError(
          "the change log has no record of revision \(current + 1) (next is \(record.revision)); revisions would not line up")
      }
      var ops: [EtcdOp] = []
      for event in record.events {
        switch event.kind {
        case .put:
          if event.lease != 0, !leases.contains(event.lease) {
            do { _ = try await client.lease.grant(ttl: leaseTTL, id: event.lease) } catch {
              if !error.message.contains("lease already exists") {
                throw BackupError("cannot re-create lease \(event.lease) for revision \(record.revision): \(error.message)")
              }
            }
            leases.insert(event.lease)
          }
          ops.append(.putBytes(key: Array(event.key), value: Array(event.value), lease: event.lease))
        case .delete:
          ops.append(.deleteBytes(key: Array(event.key)))
        }
      }
      let result: EtcdTxnResult
      do { result = try await client.kv.txn([], success: ops) } catch {
        throw BackupError("replaying revision \(record.revision) failed: \(error.message)")
      }
      guard result.revision == record.revision else {
        throw BackupError("replaying revision \(record.revision) produced revision \(result.revision)")
      }
      current = result.revision
    }
    return current
  }

  /// Raises the revision to at least `target` with writes to a reserved key (removed afterwards), then
  /// compacts at the final revision.
  /// - Returns: the final revision.
  @discardableResult
  public func bumpAndCompact(to target: Int64) async throws -> Int64 {
    let key = "/vigil/restore/revision-bump"
    var current = try await revision()
    while current < target - 1 {
      let batch = Int(min(target - 1 - current, 256))
      do {
        try await withThrowingTaskGroup(of: Int64.self) { group in
          for _ in 0..<batch {
            group.addTask {
              do { return try await client.kv.put(key, "").revision } catch { throw error }
            }
          }
          for try await r in group { current = max(current, r) }
        }
      } catch {
        throw BackupError("raising the restored cluster's revision failed at \(current): \(error)")
      }
    }
    let final: Int64
    do {
      final = try await client.kv.delete(key).revision
      try await client.kv.compact(revision: final)
    } catch {
      throw BackupError("compacting the restored cluster at its new revision failed: \(error.message)")
    }
    return final
  }
}
