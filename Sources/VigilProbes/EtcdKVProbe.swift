import NIOConcurrencyHelpers
import NIOCore
import VigilCore
import VigilEtcd

/// `etcd.kv`: a user's round trip — put, linearizable get, compare-and-swap,
/// delete — on `/vigil/probe/<probe>/…`, under a lease so that leftovers of
/// a probe interrupted mid-way expire on their own.
public final class EtcdKVProbe: Sendable {
  public let name: String
  public let target: String
  let client: EtcdClient
  let prefix: String
  private let lease = ProbeLease()
  private let counter = NIOLockedValueBox(0)

  /// - Parameters:
  ///   - client: a cluster client, or a pinned one (`client.member(endpoint)`) for a per-member probe.
  public init(name: String, target: String, client: EtcdClient) {
    self.name = name
    self.target = target
    self.client = client
    self.prefix = "/vigil/probe/\(target)/\(name)/"
  }

  public func run(timeout: TimeAmount) async -> ProbeResult {
    let c = client.withCallTimeout(timeout)
    var timer = StepTimer()
    let n = counter.withLockedValue { $0 += 1; return $0 }
    let key = prefix + String(n % 16)
    let value = "v\(n)"
    do {
      let leaseID = try await timer.step("lease") { () async throws(EtcdError) -> Int64 in
        try await self.lease.id(c)
      }
      try await timer.step("put") { () async throws(EtcdError) in
        _ = try await c.kv.put(key, value, lease: leaseID)
      }
      let got = try await timer.step("get") { () async throws(EtcdError) in try await c.kv.get(key) }
      guard got?.valueString == value else {
        return result(timer, .critical, .badAnswer, "read \"\(got?.valueString ?? "nothing")\" after writing \"\(value)\"")
      }
      let swapped = try await timer.step("cas") { () async throws(EtcdError) in
        try await c.kv.txn([.value(key, .equal, value)], success: [.put(key, value + "'", lease: leaseID)])
      }
      guard swapped.succeeded else {
        return result(timer, .critical, .badAnswer, "compare-and-swap on the value just read failed")
      }
      try await timer.step("delete") { () async throws(EtcdError) in _ = try await c.kv.delete(key) }
      return result(timer, .ok, nil, "put/get/cas/delete ok")
    } catch {
      lease.forget(after: error)
      return result(timer, .critical, ProbeFailureKind(error), error.description)
    }
  }

  private func result(_ timer: StepTimer, _ status: ProbeStatus, _ failure: ProbeFailureKind?, _ message: String)
    -> ProbeResult
  {
    ProbeResult(
      probe: name, target: target, status: status, failure: failure, message: message, latency: timer.elapsed,
      steps: timer.steps, metrics: [:])
  }
}
