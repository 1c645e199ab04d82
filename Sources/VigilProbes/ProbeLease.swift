import NIOConcurrencyHelpers
import VigilEtcd

/// The lease a probe writes its keys under, so that leftovers of a probe
/// interrupted mid-way expire on their own. Granted once and reused until
/// half its lifetime has passed.
final class ProbeLease: Sendable {
  /// Lease lifetime; leftovers vanish at most this long after Vigil stops.
  static let ttl: Int64 = 60
  private let current = NIOLockedValueBox<(id: Int64, grantedAt: ContinuousClock.Instant)?>(nil)

  func id(_ client: EtcdClient) async throws(EtcdError) -> Int64 {
    if let l = current.withLockedValue({ $0 }), l.grantedAt.duration(to: .now) < .seconds(Self.ttl / 2) {
      return l.id
    }
    let granted = try await client.lease.grant(ttl: Self.ttl)
    current.withLockedValue { $0 = (granted.id, .now) }
    return granted.id
  }

  /// Forgets the lease after etcd said it is gone (e.g. the cluster was rebuilt).
  func forget(after error: EtcdError) {
    if error.message.contains("lease not found") { current.withLockedValue { $0 = nil } }
  }
}
