import NIOConcurrencyHelpers
import NIOCore
import VigilCore
import VigilEtcd

/// `etcd.perf`: the disk check — a short, paced burst of writes (``PerfLoad``) through the cluster, each put's commit
/// latency measured and judged by `etcdctl check perf`'s thresholds (``PerfCheck``). Keys go under
/// `/vigil/perf/<target>/<probe>/` on a lease and are deleted after; a check that passes is OK, one that misses the
/// bar is WARNING (the cluster works, its disk is slow: not a failure for the detector), one whose writes all fail is
/// CRITICAL.
public final class EtcdPerfProbe: Sendable {
  public let name: String
  public let target: String
  let client: EtcdClient
  let load: PerfLoad
  let prefix: String

  public init(name: String, target: String, client: EtcdClient, load: PerfLoad) {
    self.name = name
    self.target = target
    self.client = client
    self.load = load
    self.prefix = "/vigil/perf/\(target)/\(name)/"
  }

  /// - Parameter timeout: the whole check's bound; writes not started by then count as failed.
  public func run(timeout: Duration) async -> ProbeResult {
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start + timeout
    let c = client.withCallTimeout(.seconds(2))
    let lease: Int64
    do { lease = try await c.lease.grant(ttl: 60 + Int64(timeout.seconds)).id } catch {
      return result(.critical, ProbeFailureKind(error), "cannot grant the check's lease: \(error)", clock, start, nil)
    }
    let total = max(1, load.writes)
    let value = String(repeating: "v", count: load.valueSize)
    let next = NIOLockedValueBox(0)
    let spacing = load.duration / total
    let prefix = self.prefix
    var latencies: [Double] = []
    var failed = 0
    var lastError: EtcdError?
    await withTaskGroup(of: (latencies: [Double], failed: Int, error: EtcdError?).self) { group in
      for _ in 0..<max(1, min(load.clients, total)) {
        group.addTask {
          var mine: [Double] = []
          var failures = 0
          var lastFailure: EtcdError?
          while !Task.isCancelled {
            let i = next.withLockedValue { n -> Int in
              defer { n += 1 }
              return n
            }
            guard i < total else { break }
            // Paced: write i is due at start + i × spacing.
            let due = start + spacing * i
            if due > deadline {
              failures += 1
              continue
            }
            try? await Task.sleep(until: due, clock: clock)
            let t0 = clock.now
            do throws(EtcdError) {
              _ = try await c.kv.put(prefix + String(i % 1000), value, lease: lease)
              mine.append(t0.duration(to: clock.now).seconds)
            } catch {
              failures += 1
              lastFailure = error
            }
          }
          return (mine, failures, lastFailure)
        }
      }
      for await part in group {
        latencies += part.latencies
        failed += part.failed
        if let e = part.error { lastError = e }
      }
    }
    let elapsed = start.duration(to: clock.now).seconds
    // Clean up now; the lease removes what a failed delete leaves.
    _ = try? await c.kv.delete(prefix, prefix: true)
    try? await c.lease.revoke(lease)
    let verdict = PerfCheck.judge(latencies: latencies, failed: failed, seconds: elapsed, load: load)
    if latencies.isEmpty {
      return result(
        .critical, lastError.map(ProbeFailureKind.init) ?? .timeout,
        "no write succeeded" + (lastError.map { ": \($0)" } ?? ""), clock, start, verdict)
    }
    return result(verdict.passes ? .ok : .warning, nil, PerfCheck.describe(verdict), clock, start, verdict)
  }

  private func result(
    _ status: ProbeStatus, _ failure: ProbeFailureKind?, _ message: String, _ clock: ContinuousClock,
    _ start: ContinuousClock.Instant, _ verdict: PerfVerdict?
  ) -> ProbeResult {
    let elapsed = start.duration(to: clock.now)
    var metrics: [String: Double] = [:]
    if let v = verdict {
      metrics = [
        "writes": Double(v.writes), "failed": Double(v.failed), "throughput": v.throughput, "p50_ms": v.p50 * 1000,
        "p99_ms": v.p99 * 1000, "slowest_ms": v.slowest * 1000, "stddev_ms": v.stddev * 1000,
      ]
    }
    return ProbeResult(
      probe: name, target: target, status: status, failure: failure, message: message, latency: elapsed,
      steps: [ProbeStep(name: "load", latency: elapsed, succeeded: status == .ok)], metrics: metrics)
  }
}
