import GRPCCore
import NIOConcurrencyHelpers
import NIOCore
import VigilEtcdProto

/// A granted lease.
public struct EtcdLease: Sendable, Hashable {
  public var id: Int64
  /// Seconds the lease lives without a keep-alive.
  public var ttl: Int64
}

/// What `timeToLive` reports about a lease.
public struct EtcdLeaseTimeToLive: Sendable, Hashable {
  public var id: Int64
  /// Seconds left; -1 when the lease has expired or never existed.
  public var ttl: Int64
  public var grantedTTL: Int64
  public var keys: [String]
}

/// Lease calls: `client.lease.grant/revoke/timeToLive/keepAlive`.
public struct EtcdLeases: Sendable {
  let client: EtcdClient

  /// Grants a lease of `ttl` seconds (`id` 0 lets etcd choose the id).
  public func grant(ttl: Int64, id: Int64 = 0) async throws(EtcdError) -> EtcdLease {
    let request = Etcdserverpb_LeaseGrantRequest.with {
      $0.ttl = ttl
      $0.id = id
    }
    let r: Etcdserverpb_LeaseGrantResponse = try await client.unary(EtcdPaths.leaseGrant, request, idempotent: false)
    if !r.error.isEmpty { throw EtcdError(.serverError, "lease grant failed: \(r.error)") }
    return EtcdLease(id: r.id, ttl: r.ttl)
  }

  /// Revokes a lease; its keys are deleted. Not retried blindly: a repeat of
  /// an applied revoke would answer "lease not found".
  public func revoke(_ id: Int64) async throws(EtcdError) {
    let _: Etcdserverpb_LeaseRevokeResponse = try await client.unary(
      EtcdPaths.leaseRevoke, Etcdserverpb_LeaseRevokeRequest.with { $0.id = id }, idempotent: false)
  }

  /// Remaining time of a lease, optionally with its keys.
  public func timeToLive(_ id: Int64, keys: Bool = false) async throws(EtcdError) -> EtcdLeaseTimeToLive {
    let request = Etcdserverpb_LeaseTimeToLiveRequest.with {
      $0.id = id
      $0.keys = keys
    }
    let r: Etcdserverpb_LeaseTimeToLiveResponse = try await client.unary(
      EtcdPaths.leaseTimeToLive, request, idempotent: true)
    return EtcdLeaseTimeToLive(
      id: r.id, ttl: r.ttl, grantedTTL: r.grantedTtl, keys: r.keys.map { String(decoding: $0, as: UTF8.self) })
  }

  /// Renews each lease once, over one keep-alive stream, within `timeout`.
  /// - Returns: each lease's TTL after the renewal (0 or less: it had expired or never existed).
  public func renew(_ ids: [Int64], timeout: Duration = .seconds(5)) async throws(EtcdError) -> [Int64: Int64] {
    guard !ids.isEmpty else { return [:] }
    let slot = client.endpointSet.preferredSlot
    do {
      let metadata = try await client.streamMetadata()
      let stub = Etcdserverpb_Lease.Client(wrapping: slot.grpc)
      var options = CallOptions.defaults
      options.timeout = timeout
      return try await stub.leaseKeepAlive(metadata: metadata, options: options) { writer in
        for id in ids { try await writer.write(.with { $0.id = id }) }
      } onResponse: { response in
        var ttls: [Int64: Int64] = [:]
        for try await message in response.messages {
          ttls[message.id] = message.ttl
          if ttls.count == Set(ids).count { break }
        }
        return ttls
      }
    } catch {
      throw EtcdError.from(error, endpoint: slot.endpoint)
    }
  }

  /// Keeps `lease` alive in the background until ``EtcdLeaseKeepAlive/stop()``,
  /// renewing every third of its TTL over one stream and reconnecting (to the
  /// next endpoint) when the stream breaks or goes silent.
  public func keepAlive(_ lease: EtcdLease) -> EtcdLeaseKeepAlive {
    EtcdLeaseKeepAlive(client: client, lease: lease)
  }
}

/// A running keep-alive for one lease.
public final class EtcdLeaseKeepAlive: Sendable {
  public struct State: Sendable {
    /// TTL etcd granted at the last renewal.
    public var lastTTL: Int64?
    public var renewals = 0
    public var reconnects = 0
    /// Set when the lease is gone (expired or revoked); keep-alive stopped.
    public var failure: EtcdError?
  }

  public let lease: EtcdLease
  private let state = NIOLockedValueBox(State())
  // An unstructured task: the keep-alive must outlive the call that starts it
  // and runs until stop(), like the lease it serves.
  private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

  init(client: EtcdClient, lease: EtcdLease) {
    self.lease = lease
    let t = Task { [state] in await Self.run(client: client, lease: lease, state: state) }
    task.withLockedValue { $0 = t }
  }

  deinit { task.withLockedValue { $0?.cancel() } }

  public var current: State { state.withLockedValue { $0 } }

  /// Stops renewing; the lease then expires after its TTL unless revoked.
  public func stop() { task.withLockedValue { $0?.cancel() } }

  private static func run(client: EtcdClient, lease: EtcdLease, state: NIOLockedValueBox<State>) async {
    let interval = Duration.milliseconds(max(300, lease.ttl * 1000 / 3))
    while !Task.isCancelled {
      let slot = client.endpointSet.preferredSlot
      let lastAnswer = NIOLockedValueBox(ContinuousClock.now)
      do {
        let metadata = try await client.streamMetadata()
        let stub = Etcdserverpb_Lease.Client(wrapping: slot.grpc)
        try await stub.leaseKeepAlive(metadata: metadata) { writer in
          while !Task.isCancelled {
            try await writer.write(.with { $0.id = lease.id })
            try await Task.sleep(for: interval)
            if lastAnswer.withLockedValue({ $0 }).duration(to: .now) > interval * 2 + .seconds(1) {
              throw EtcdError(.timedOut, "no keep-alive answer for lease \(lease.id)")
            }
          }
        } onResponse: { response in
          for try await message in response.messages {
            lastAnswer.withLockedValue { $0 = .now }
            if message.ttl <= 0 {
              throw EtcdError(.notFound, "lease \(String(lease.id, radix: 16)) expired or was revoked")
            }
            state.withLockedValue {
              $0.lastTTL = message.ttl
              $0.renewals += 1
            }
          }
        }
        // The stream ended without an error (etcd closed it): reopen after a pause, not in a tight loop.
        try await Task.sleep(for: .milliseconds(100))
      } catch {
        let e = EtcdError.from(error, endpoint: slot.endpoint)
        if e.code == .notFound {
          state.withLockedValue { $0.failure = e }
          return
        }
        if Task.isCancelled { return }
        client.endpointSet.advance(from: slot)
        state.withLockedValue { $0.reconnects += 1 }
        try? await Task.sleep(for: .milliseconds(100))
      }
    }
  }
}
