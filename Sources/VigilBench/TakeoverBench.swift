import Foundation
import Logging
import VigilCoordination
import VigilCore
import VigilEtcd
import VigilRuntime

/// Replicas on a real management etcd (a local 1-member cluster): how long after a replica dies (stops
/// renewing, as after SIGKILL) every shard is owned again, beside the floor etcd itself sets in the same run
/// — a lease of the same TTL left to expire, from its last renewal to its key's deletion.
public final class TakeoverBench: Sendable {
  public struct Trial: Sendable {
    /// The dead replica's last renewal → every shard owned by a live replica (as their own views say).
    public var takeover: Double
    /// The dead replica's last renewal → its own view owns nothing (it stopped acting).
    public var stoppedActing: Double
    /// A lease of the same TTL: last renewal → its key deleted.
    public var floor: Double
    /// Samples (every 5 ms) with a shard owned by two replicas at once: must be 0.
    public var overlaps: Int
  }

  let cluster: LocalCluster
  let client: EtcdClient

  init(cluster: LocalCluster, client: EtcdClient) {
    self.cluster = cluster
    self.client = client
  }

  public static func start() async throws -> TakeoverBench {
    let cluster = try await LocalCluster.start(LocalClusterOptions(members: 1))
    do {
      let client = try EtcdClient(configuration: cluster.clientConfiguration(endpoints: await cluster.endpoints))
      return TakeoverBench(cluster: cluster, client: client)
    } catch {
      await cluster.shutdown()
      throw error
    }
  }

  public func shutdown() async {
    await client.shutdown()
    await cluster.shutdown()
  }

  /// One trial: `replicas` coordinators balanced, one of them killed.
  public func trial(_ n: Int, replicas: Int, ttl: Int64, shards: Int) async throws -> Trial {
    var logger = Logger(label: "bench.takeover")
    logger.logLevel = .critical
    let prefix = "/bench/takeover/\(n)/"
    let coordinators = (0..<replicas).map { i in
      var s = ReplicaCoordinator.Settings(replicaID: "r\(i)", ttl: ttl, shards: shards, prefix: prefix)
      s.turn = .milliseconds(100)
      return ReplicaCoordinator(client: client, settings: s, logger: logger)
    }
    let victim = replicas - 1
    let loops = coordinators.enumerated().map { i, c in Task { await c.run(leaving: i != victim) } }
    func views() async -> [Set<Int>] {
      var out: [Set<Int>] = []
      for c in coordinators { out.append(await c.ownedShards) }
      return out
    }
    func cleanUp() async {
      for l in loops { l.cancel() }
      for l in loops { await l.value }
      _ = try? await client.kv.delete(prefix, prefix: true)
    }
    let ids = coordinators.map(\.settings.replicaID)
    let map = ShardMap(shards: shards)
    let all = Set(0..<shards)
    /// Balanced, then the last replica killed: (takeover, stopped acting, overlapping samples).
    func measure() async throws -> (Double, Double?, Int) {
      guard
        try await BenchTiming.wait(timeout: .seconds(60), {
          let v = await views()
          return (0..<replicas).allSatisfy { v[$0] == map.shards(of: ids[$0], among: ids) }
        })
      else { throw BenchError("the replicas did not share the shards within 60 s") }
      // Kill the last replica: its loops stop at once, its lease is left to expire (no revoke).
      loops[victim].cancel()
      await loops[victim].value
      let lastRenewal = await coordinators[victim].lastRenewalSent ?? ContinuousClock.now
      var stopped: Double?
      var overlaps = 0
      let done = try await BenchTiming.wait(timeout: .seconds(ttl * 4 + 30)) {
        let v = await views()
        let flat = v.flatMap { $0 }
        if flat.count != Set(flat).count { overlaps += 1 }
        if stopped == nil, v[victim].isEmpty { stopped = (ContinuousClock.now - lastRenewal).seconds }
        return Set(v.prefix(victim).flatMap { $0 }) == all
      }
      guard done else { throw BenchError("the shards were not all owned again within \(ttl * 4 + 30) s") }
      return ((ContinuousClock.now - lastRenewal).seconds, stopped, overlaps)
    }
    // Every loop ends (cancelled and awaited) on every path, a failed or cancelled measurement included.
    let measured: (takeover: Double, stopped: Double?, overlaps: Int)
    do { measured = try await measure() } catch {
      await cleanUp()
      throw error
    }
    await cleanUp()
    return Trial(
      takeover: measured.takeover, stoppedActing: measured.stopped ?? measured.takeover,
      floor: try await floor(ttl: ttl, n: n), overlaps: measured.overlaps)
  }

  /// etcd's own expiry of a lease of `ttl`: granted, renewed once, left; the time until its key is gone.
  func floor(ttl: Int64, n: Int) async throws -> Double {
    let key = "/bench/takeover-floor/\(n)"
    let lease = try await client.lease.grant(ttl: ttl)
    _ = try await client.kv.put(key, "x", lease: lease.id)
    let renewed = ContinuousClock.now
    _ = try await client.lease.renew([lease.id])
    guard
      try await BenchTiming.wait(timeout: .seconds(ttl * 4 + 30), { ((try? await self.client.kv.get(key)) ?? nil) == nil })
    else { throw BenchError("etcd did not expire a \(ttl) s lease within \(ttl * 4 + 30) s") }
    return (ContinuousClock.now - renewed).seconds
  }
}
