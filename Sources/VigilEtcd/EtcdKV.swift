import Foundation
import NIOCore
import VigilEtcdProto

/// Key-value calls: `client.kv.put/get/range/delete/txn/compact`.
public struct EtcdKV: Sendable {
  let client: EtcdClient

  /// Writes `value` at `key`.
  /// - Parameters:
  ///   - lease: attach the key to this lease (0 for none).
  ///   - prevKV: return the previous value.
  /// - Throws: ``EtcdError``; `.outcomeUnknown` when the connection broke after sending.
  @discardableResult
  public func put(_ key: String, _ value: String, lease: Int64 = 0, prevKV: Bool = false) async throws(EtcdError)
    -> EtcdPutResult
  {
    try await put(key, bytes: Array(value.utf8), lease: lease, prevKV: prevKV)
  }

  @discardableResult
  public func put(_ key: String, bytes value: [UInt8], lease: Int64 = 0, prevKV: Bool = false) async throws(EtcdError)
    -> EtcdPutResult
  {
    try Self.checkKey(key)
    let request = Etcdserverpb_PutRequest.with {
      $0.key = Data(key.utf8)
      $0.value = Data(value)
      $0.lease = lease
      $0.prevKv = prevKV
    }
    let response: Etcdserverpb_PutResponse = try await client.unary(EtcdPaths.put, request, idempotent: false)
    return EtcdPutResult(
      revision: response.header.revision, previous: response.hasPrevKv ? EtcdKeyValue(response.prevKv) : nil)
  }

  /// Reads one key; nil when it does not exist.
  public func get(_ key: String, consistency: EtcdConsistency = .linearizable, revision: Int64 = 0)
    async throws(EtcdError) -> EtcdKeyValue?
  {
    try await range(key, revision: revision, consistency: consistency).kvs.first
  }

  /// Reads a key, every key under a prefix, or `[key, end)`.
  public func range(
    _ key: String, prefix: Bool = false, end: String? = nil, limit: Int64 = 0, revision: Int64 = 0,
    consistency: EtcdConsistency = .linearizable, keysOnly: Bool = false, countOnly: Bool = false
  ) async throws(EtcdError) -> EtcdRangeResult {
    if !prefix { try Self.checkKey(key) }
    let request = Etcdserverpb_RangeRequest.with {
      $0.key = Data(key.utf8)
      if prefix {
        $0.rangeEnd = Data(Self.prefixEnd(Array(key.utf8)))
        if key.isEmpty { $0.key = Data([0]) }
      } else if let end {
        $0.rangeEnd = Data(end.utf8)
      }
      $0.limit = limit
      $0.revision = revision
      $0.serializable = consistency == .serializable
      $0.keysOnly = keysOnly
      $0.countOnly = countOnly
    }
    let response: Etcdserverpb_RangeResponse = try await client.unary(EtcdPaths.range, request, idempotent: true)
    return Self.rangeResult(response)
  }

  /// Reads the keys in `[from, to)` (`to` of `[0]`: every key from `from` on), in key order: a page of a
  /// copy of the whole keyspace at one `revision`.
  public func range(from: [UInt8], to: [UInt8], limit: Int64 = 0, revision: Int64 = 0) async throws(EtcdError)
    -> EtcdRangeResult
  {
    let request = Etcdserverpb_RangeRequest.with {
      $0.key = Data(from)
      $0.rangeEnd = Data(to)
      $0.limit = limit
      $0.revision = revision
    }
    let response: Etcdserverpb_RangeResponse = try await client.unary(EtcdPaths.range, request, idempotent: true)
    return Self.rangeResult(response)
  }

  /// Deletes a key, or every key under a prefix.
  @discardableResult
  public func delete(_ key: String, prefix: Bool = false, prevKV: Bool = false) async throws(EtcdError)
    -> EtcdDeleteResult
  {
    if !prefix { try Self.checkKey(key) }
    let request = Etcdserverpb_DeleteRangeRequest.with {
      $0.key = Data(key.utf8)
      if prefix { $0.rangeEnd = Data(Self.prefixEnd(Array(key.utf8))) }
      $0.prevKv = prevKV
    }
    let response: Etcdserverpb_DeleteRangeResponse = try await client.unary(
      EtcdPaths.deleteRange, request, idempotent: false)
    return Self.deleteResult(response)
  }

  /// Runs `success` if every comparison holds, else `failure`, atomically.
  public func txn(_ compares: [EtcdCompare], success: [EtcdOp], failure: [EtcdOp] = []) async throws(EtcdError)
    -> EtcdTxnResult
  {
    let request = Etcdserverpb_TxnRequest.with {
      $0.compare = compares.map(\.proto)
      $0.success = success.map(\.proto)
      $0.failure = failure.map(\.proto)
    }
    let readOnly = (success + failure).allSatisfy(\.isRead)
    let response: Etcdserverpb_TxnResponse = try await client.unary(EtcdPaths.txn, request, idempotent: readOnly)
    let results: [EtcdOpResult] = response.responses.compactMap { op in
      switch op.response {
      case .responsePut(let p):
        return .put(EtcdPutResult(revision: p.header.revision, previous: p.hasPrevKv ? EtcdKeyValue(p.prevKv) : nil))
      case .responseRange(let r): return .range(Self.rangeResult(r))
      case .responseDeleteRange(let d): return .delete(Self.deleteResult(d))
      case .responseTxn, .none: return nil
      }
    }
    return EtcdTxnResult(succeeded: response.succeeded, revision: response.header.revision, results: results)
  }

  /// Compacts history up to `revision`; `physical` waits until the space is reclaimed.
  public func compact(revision: Int64, physical: Bool = false) async throws(EtcdError) {
    let request = Etcdserverpb_CompactionRequest.with {
      $0.revision = revision
      $0.physical = physical
    }
    let _: Etcdserverpb_CompactionResponse = try await client.unary(
      EtcdPaths.compact, request, idempotent: false, timeout: .seconds(60))
  }

  // MARK: helpers

  static func checkKey(_ key: String) throws(EtcdError) {
    if key.isEmpty { throw EtcdError(.invalidArgument, "key is empty (etcd requires a non-empty key)") }
  }

  /// The smallest key after every key that starts with `prefix`.
  static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
    var end = prefix
    while let last = end.last {
      if last < 0xff {
        end[end.count - 1] = last + 1
        return end
      }
      end.removeLast()
    }
    return [0]  // every key
  }

  static func rangeResult(_ r: Etcdserverpb_RangeResponse) -> EtcdRangeResult {
    EtcdRangeResult(kvs: r.kvs.map(EtcdKeyValue.init), count: r.count, more: r.more, revision: r.header.revision)
  }

  static func deleteResult(_ d: Etcdserverpb_DeleteRangeResponse) -> EtcdDeleteResult {
    EtcdDeleteResult(deleted: d.deleted, revision: d.header.revision, previous: d.prevKvs.map(EtcdKeyValue.init))
  }
}
