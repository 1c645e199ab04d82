import Foundation
import Synchronization
import Testing
import VigilCoordination
import VigilCore
import VigilEtcd
import VigilProxy
import VigilRuntime
import VigilTestKit

/// Replicas coordinated through a real etcd (the management cluster): each shard owned by exactly one live
/// replica, a dead replica's shards taken over once its lease expires, a joining replica taking only its
/// share, and the fence that stops a replica which no longer owns a cluster.
@Suite("Replicas through a management etcd", .serialized)
struct ReplicaCoordinatorTests {
  static func settings(_ id: String) -> ReplicaCoordinator.Settings {
    var s = ReplicaCoordinator.Settings(replicaID: id, ttl: 5, shards: 16)
    s.turn = .milliseconds(200)
    s.margin = .milliseconds(750)
    return s
  }

  /// A replica whose turns the test drives: stopping them without leaving is a crash (no revoke).
  final class Replica: Sendable {
    let coordinator: ReplicaCoordinator
    let loop = Mutex<Task<Void, Never>?>(nil)
    init(_ id: String, client: EtcdClient, settings: ReplicaCoordinator.Settings? = nil) {
      coordinator = ReplicaCoordinator(client: client, settings: settings ?? ReplicaCoordinatorTests.settings(id))
      let c = coordinator
      loop.withLock {
        $0 = Task {
          while !Task.isCancelled {
            await c.turn()
            try? await Task.sleep(for: .milliseconds(200))
          }
        }
      }
    }
    /// Stops turning at once, leaving its lease to expire (SIGKILL as etcd sees it).
    func crash() async {
      let t = loop.withLock { $0 }
      t?.cancel()
      await t?.value
    }
    func stop() async {
      await crash()
      await coordinator.leave()
    }
  }

  /// Owned shards by replica, read from each replica's own view.
  static func views(_ replicas: [Replica]) async -> [String: Set<Int>] {
    var out: [String: Set<Int>] = [:]
    for r in replicas { out[r.coordinator.settings.replicaID] = await r.coordinator.ownedShards }
    return out
  }

  static func disjoint(_ views: [String: Set<Int>]) -> Bool {
    let all = views.values.flatMap { $0 }
    return all.count == Set(all).count
  }

  @Test func eachShardHasExactlyOneLiveOwnerAndADeadReplicasShardsMove() async throws {
    try await withTestCluster { _, client in
      let replicas = ["a", "b", "c"].map { Replica("vigil-\($0)", client: client) }
      let map = ShardMap(shards: 16)
      let ids = replicas.map(\.coordinator.settings.replicaID)
      var seen: [String: Set<Int>] = [:]
      #expect(
        try await eventually(timeout: .seconds(30)) {
          seen = await Self.views(replicas)
          return ids.allSatisfy { seen[$0] == map.shards(of: $0, among: ids) }
        }, "\(seen)")
      // The keys in etcd say the same.
      let keys = try await client.kv.range("/vigil/coordination/shards/", prefix: true).kvs
      #expect(keys.count == 16)
      for kv in keys {
        let shard = Int(kv.keyString.split(separator: "/").last!)!
        #expect(kv.valueString == map.owner(of: shard, among: ids))
      }
      // c crashes: its shards go to a and b once its lease expires; never two owners at once.
      await replicas[2].crash()
      let survivors = Array(ids.prefix(2))
      var overlaps = 0
      let moved = try await eventually(timeout: .seconds(30), interval: .milliseconds(50)) {
        seen = await Self.views(replicas)
        if !Self.disjoint(seen) { overlaps += 1 }
        return survivors.allSatisfy { seen[$0] == map.shards(of: $0, among: survivors) }
      }
      #expect(moved, "\(seen)")
      #expect(overlaps == 0)
      let crashedOwns = await replicas[2].coordinator.ownedShards
      #expect(crashedOwns.isEmpty)
      // Stopped gracefully: their leases revoked, every key gone (at the latest when the leases expire, if a
      // revoke did not get through on a loaded machine).
      for r in replicas.prefix(2) { await r.stop() }
      var left: [String] = []
      #expect(
        try await eventually(timeout: .seconds(15)) {
          left = try await client.kv.range("/vigil/coordination/", prefix: true).kvs.map(\.keyString)
          return left.isEmpty
        }, "\(left)")
    }
  }

  @Test func aJoiningReplicaTakesOnlyItsShareAndTheRestStayPut() async throws {
    try await withTestCluster { _, client in
      let map = ShardMap(shards: 16)
      var replicas = ["a", "b"].map { Replica("vigil-\($0)", client: client) }
      let two = replicas.map(\.coordinator.settings.replicaID)
      #expect(
        try await eventually(timeout: .seconds(30)) {
          let v = await Self.views(replicas)
          return two.allSatisfy { v[$0] == map.shards(of: $0, among: two) }
        })
      func tokens() async throws -> [Int: Int64] {
        var out: [Int: Int64] = [:]
        for kv in try await client.kv.range("/vigil/coordination/shards/", prefix: true).kvs {
          out[Int(kv.keyString.split(separator: "/").last!)!] = kv.createRevision
        }
        return out
      }
      let before = try await tokens()
      replicas.append(Replica("vigil-d", client: client))
      let three = two + ["vigil-d"]
      var overlaps = 0
      var seen: [String: Set<Int>] = [:]
      #expect(
        try await eventually(timeout: .seconds(30)) {
          seen = await Self.views(replicas)
          if !Self.disjoint(seen) { overlaps += 1 }
          return three.allSatisfy { seen[$0] == map.shards(of: $0, among: three) }
        }, "\(seen)")
      #expect(overlaps == 0)
      let after = try await tokens()
      let toD = map.shards(of: "vigil-d", among: three)
      #expect(!toD.isEmpty)
      for s in 0..<16 where !toD.contains(s) {
        #expect(after[s] == before[s], "shard \(s) moved though it stays with \(map.owner(of: s, among: three) ?? "-")")
      }
      for r in replicas { await r.stop() }
    }
  }

  @Test func theFenceRecordsAStepOnceAndStopsAReplicaThatLostItsShard() async throws {
    try await withTestCluster { _, client in
      let a = Replica("vigil-a", client: client)
      #expect(try await eventually(timeout: .seconds(30)) { await a.coordinator.owns("prod-1") })
      #expect(try await a.coordinator.fence(cluster: "prod-1", step: "prod-1/7/0"))
      #expect(try await a.coordinator.fence(cluster: "prod-1", step: "prod-1/7/0") == false)  // begun already
      #expect(try await client.kv.get("/vigil/coordination/steps/prod-1/7/0")?.valueString == "vigil-a")
      // The shard's key now held under another lease (the same key, so the same create revision: only the
      // lease tells): the fence refuses, and says who has it.
      let shard = ShardMap(shards: 16).shard(of: "prod-1")
      let key = "/vigil/coordination/shards/\(shard)"
      let other = try await client.lease.grant(ttl: 30)
      _ = try await client.kv.put(key, "vigil-z", lease: other.id)
      do {
        _ = try await a.coordinator.fence(cluster: "prod-1", step: "prod-1/7/1")
        Issue.record("a replica without the shard passed the fence")
      } catch let error as ReplicaCoordinator.FenceError {
        #expect(error.description.contains("vigil-z"), "\(error)")
      }
      #expect(try await client.kv.get("/vigil/coordination/steps/prod-1/7/1") == nil)
      // A crashed replica's own view lets it act no more once its lease is no longer certain.
      await a.crash()
      #expect(try await eventually(timeout: .seconds(10)) { await a.coordinator.owns("prod-1") == false })
      await #expect(throws: ReplicaCoordinator.FenceError.self) {
        _ = try await a.coordinator.fence(cluster: "prod-1", step: "prod-1/7/2")
      }
      try await client.lease.revoke(other.id)
    }
  }

  @Test func aReplicaCutOffFromTheManagementEtcdStopsBeforeAnotherTakesOver() async throws {
    try await withTestCluster(members: 1) { cluster, direct in
      // Replica a reaches the management etcd only through a proxy the test cuts; b reaches it directly.
      let member = try #require(await cluster.endpoints.first)
      let proxy = TCPProxy()
      try await proxy.start(host: "127.0.0.1", port: 0)
      proxy.update(backends: [TCPProxy.Backend(host: member.host, port: member.port)])
      let port = try #require(proxy.localAddress?.port)
      var config = EtcdClientConfiguration(endpoints: [try EtcdEndpoint(parsing: "http://127.0.0.1:\(port)")])
      config.callTimeout = .seconds(1)
      let throughProxy = try EtcdClient(configuration: config)
      let a = Replica("vigil-a", client: throughProxy)
      let b = Replica("vigil-b", client: direct)
      let map = ShardMap(shards: 16)
      let both = ["vigil-a", "vigil-b"]
      #expect(
        try await eventually(timeout: .seconds(30)) {
          let v = await Self.views([a, b])
          return both.allSatisfy { v[$0] == map.shards(of: $0, among: both) }
        })
      let cluster = try #require((0..<100).map { "prod-\($0)" }.first { map.owner(of: map.shard(of: $0), among: both) == "vigil-a" })
      // Cut: a can neither renew nor read. Sampled every 20 ms until b owns every shard: never two owners.
      proxy.update(backends: [])
      var overlaps = 0
      var seen: [String: Set<Int>] = [:]
      #expect(
        try await eventually(timeout: .seconds(30), interval: .milliseconds(20)) {
          seen = await Self.views([a, b])
          if !Self.disjoint(seen) { overlaps += 1 }
          return seen["vigil-b"] == Set(0..<16)
        }, "\(seen)")
      #expect(overlaps == 0)
      #expect(seen["vigil-a"]?.isEmpty == true)
      await #expect(throws: ReplicaCoordinator.FenceError.self) {
        _ = try await a.coordinator.fence(cluster: cluster, step: "\(cluster)/1/0")
      }
      // Healed: a registers anew and takes its share back; still never two owners.
      proxy.update(backends: [TCPProxy.Backend(host: member.host, port: member.port)])
      #expect(
        try await eventually(timeout: .seconds(30), interval: .milliseconds(20)) {
          seen = await Self.views([a, b])
          if !Self.disjoint(seen) { overlaps += 1 }
          return both.allSatisfy { seen[$0] == map.shards(of: $0, among: both) }
        }, "\(seen)")
      #expect(overlaps == 0)
      await a.stop()
      await b.stop()
      await throughProxy.shutdown()
      await proxy.stop()
    }
  }

  /// Replicas started, stopped and killed at random for a while (seeded): sampled every 25 ms, no shard is
  /// ever owned by two replicas; once the churn stops, every shard has exactly the owner the map says.
  @Test func underChurnNoShardIsEverOwnedTwiceAndTheFleetSettles() async throws {
    try await withTestCluster(members: 1) { _, client in
      var rng = SeededRandom(seed: 11)  // the churn is the same on every run
      var live: [Replica] = []
      var gone: [Replica] = []
      var next = 0
      var overlaps = 0
      var samples = 0
      func sample() async {
        let v = await Self.views(live + gone)
        samples += 1
        if !Self.disjoint(v) { overlaps += 1 }
      }
      for _ in 0..<12 {
        switch (live.count, rng.next() % 3) {
        case (0...1, _), (_, 0):
          live.append(Replica("vigil-\(next)", client: client))
          next += 1
        case (_, 1):
          let r = live.remove(at: Int(rng.next() % UInt64(live.count)))
          await r.crash()  // killed: its lease expires on its own
          gone.append(r)
        default:
          let r = live.remove(at: Int(rng.next() % UInt64(live.count)))
          await r.stop()  // stopped gracefully: its lease revoked
          gone.append(r)
        }
        let until = ContinuousClock.now + .milliseconds(Int64(500 + rng.next() % 1500))
        while ContinuousClock.now < until {
          await sample()
          try await Task.sleep(for: .milliseconds(25))
        }
      }
      let ids = live.map(\.coordinator.settings.replicaID)
      let map = ShardMap(shards: 16)
      var seen: [String: Set<Int>] = [:]
      #expect(
        try await eventually(timeout: .seconds(60), interval: .milliseconds(25)) {
          await sample()
          seen = await Self.views(live)
          return ids.allSatisfy { seen[$0] == map.shards(of: $0, among: ids) }
        }, "\(ids) \(seen)")
      #expect(overlaps == 0, "\(overlaps) of \(samples) samples had a shard owned twice")
      #expect(samples > 100)
      for r in live { await r.stop() }
    }
  }
}
