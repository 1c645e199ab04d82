import Foundation
import Logging
import NIOConcurrencyHelpers
import VigilAPI
import VigilConfig
import VigilCore
import VigilEngine
import VigilEtcd
import VigilProxy
import VigilRuntime

/// What `vigil bench failover` measures, on two local 3-member clusters it starts (a primary and its standby)
/// under one engine (P0, failovers automatic) with an in-process `vigil proxy` in front: the mirror's steady
/// lag under a writer at `rate` writes/s through the proxy (acknowledged → seen by a watch on the standby);
/// then per trial a site loss (every member of the active side frozen: its sockets stay open, nothing
/// answers, as a site gone dark) with the writer running — RTO (fault → the first write acknowledged through
/// the proxy afterwards, on the new side), RPO (acknowledged writes the new side lacks, and their age), and
/// writes acknowledged by the old side after the fault. Trials alternate sides (the old side comes back as
/// the standby and is rebuilt before the next).
public struct FailoverBench: Sendable {
  public struct Trial: Sendable {
    public var rto: Double
    public var lostWrites: Int
    public var lostWindow: Double
    /// Writes acknowledged after the fault that the new side does not have (split brain).
    public var ackedByFenced: Int
    public var from: String
    public var to: String
    public var rpoRevisions: String
  }

  public struct Lag: Sendable {
    public var samples: Int
    public var p50: Double
    public var p99: Double
    public var max: Double
  }

  let a: LocalCluster
  let b: LocalCluster
  let logger: Logger

  public static func start() async throws -> FailoverBench {
    var logger = Logger(label: "vigil.bench")
    logger.logLevel = .warning
    let a = try await LocalCluster.start(LocalClusterOptions(members: 3), logger: logger)
    do {
      let b = try await LocalCluster.start(LocalClusterOptions(members: 3), logger: logger)
      return FailoverBench(a: a, b: b, logger: logger)
    } catch {
      await a.shutdown()
      throw error
    }
  }

  public func shutdown() async {
    await a.shutdown()
    await b.shutdown()
  }

  func cluster(_ name: String) -> LocalCluster { name == "a" ? a : b }

  /// Runs `body` with an engine guarding a (standby b) and b, and a proxy following a's published endpoints.
  func withEngineAndProxy(failoverAfter: String, _ body: (Engine, TCPProxy, EtcdClient) async throws -> Void) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let yaml = """
      stateDir: \(dir)/state
      backup: {enabled: false}
      inspections: {interval: 1h}
      scheduler: {membershipInterval: 500ms}
      repair: {maxRepairsPerWindow: 10000, failoverMode: auto, failoverAfter: \(failoverAfter)}
      probeSuites:
        - name: s
          probes: [{kind: etcd.kv}, {kind: etcd.member}]
      clusters:
        - {name: a, endpoints: [\(await a.endpoints.map(\.description).joined(separator: ", "))], tier: P0, probeSuites: [s], standby: b}
        - {name: b, endpoints: [\(await b.endpoints.map(\.description).joined(separator: ", "))], tier: P0, probeSuites: [s]}
      """
    let config: VigilConfiguration
    do { config = try ConfigLoader.parse(yaml, file: "bench") } catch { throw BenchError("\(error)") }
    let engine = try await Engine.build(
      config, hookups: ["a": ClusterHookup(local: a), "b": ClusterHookup(local: b)], logger: logger)
    await engine.start()
    let proxy = TCPProxy(logger: logger)
    let client: EtcdClient
    do {
      try await proxy.start(host: "127.0.0.1", port: 0)
      var c = EtcdClientConfiguration(endpoints: [EtcdEndpoint(host: "127.0.0.1", port: proxy.localAddress?.port ?? 0)])
      c.callTimeout = .milliseconds(500)
      client = try EtcdClient(configuration: c)
    } catch {
      await engine.shutdown()
      throw error
    }
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        // What `vigil proxy` does, every 100 ms: follow the published endpoints of a.
        group.addTask {
          await proxy.follow(every: .milliseconds(100)) {
            let entry = EndpointDirectory.entry("a", in: await engine.monitor.published(pairs: await engine.repairs.pairs()))
            return (entry?.active ?? "a", (entry?.endpoints ?? []).compactMap(TCPProxy.Backend.init(url:)))
          }
        }
        defer { group.cancelAll() }
        try await body(engine, proxy, client)
      }
    } catch {
      await client.shutdown()
      await proxy.stop()
      await engine.shutdown()
      throw error
    }
    await client.shutdown()
    await proxy.stop()
    await engine.shutdown()
  }

  /// A client of one side (direct, not through the proxy).
  func directClient(_ name: String) async throws -> EtcdClient {
    try EtcdClient(configuration: EtcdClientConfiguration(endpoints: await cluster(name).endpoints))
  }

  /// The mirror runs from the active side and has applied everything the active side has.
  func mirrorCaughtUp(_ engine: Engine) async -> Bool {
    guard let s = await engine.monitor.status().clusters.first(where: { $0.name == "a" })?.standby else { return false }
    return s.phase == .mirroring && s.lagRevisions == 0 && s.appliedRevision > 0
  }

  public func measure(trials: Int, rate: Int, steady: Duration, failoverAfter: String) async throws
    -> (lag: Lag, floor: Lag, trials: [Trial])
  {
    var lag = Lag(samples: 0, p50: 0, p99: 0, max: 0)
    var floor = lag
    var results: [Trial] = []
    try await withEngineAndProxy(failoverAfter: failoverAfter) { engine, proxy, client in
      guard try await BenchTiming.wait(timeout: .seconds(120), { await mirrorCaughtUp(engine) }) else {
        throw BenchError("the standby was not seeded within 120 s")
      }
      (lag, floor) = try await steadyLag(engine: engine, client: client, rate: rate, duration: steady)
      for trial in 0..<trials {
        guard try await BenchTiming.wait(timeout: .seconds(180), { await mirrorCaughtUp(engine) }) else {
          throw BenchError("trial \(trial + 1): the standby did not catch up within 180 s")
        }
        results.append(try await siteLoss(trial: trial, engine: engine, client: client, rate: rate))
      }
    }
    return (lag, floor, results)
  }

  /// Writes at `rate` through the proxy; a watch on the standby dates when each acknowledged write arrives
  /// there. The floor, in the same run: a watch on the active side itself (etcd's own delivery), plus one
  /// write committed on the standby (what applying a change there costs at least; 200 of them first, to a
  /// scratch key deleted after).
  func steadyLag(engine: Engine, client: EtcdClient, rate: Int, duration: Duration) async throws -> (lag: Lag, floor: Lag) {
    let active = await engine.repairs.activeSide(of: "a")
    let primary = try await directClient(active)
    let standby = try await directClient(active == "a" ? "b" : "a")
    do {
      var commits: [Double] = []
      for _ in 0..<200 {
        let t0 = ContinuousClock.now
        try await standby.kv.put("/bench/floor", "x")
        commits.append((ContinuousClock.now - t0).seconds)
      }
      try await standby.kv.delete("/bench/floor")
      commits.sort()
      let (lag, delivery) = try await steadyLag(primary: primary, standby: standby, client: client, rate: rate, duration: duration)
      await primary.shutdown()
      await standby.shutdown()
      let commit50 = commits[commits.count / 2]
      let commit99 = commits[min(commits.count - 1, Int(Double(commits.count) * 0.99))]
      return (lag, Lag(samples: delivery.samples, p50: delivery.p50 + commit50, p99: delivery.p99 + commit99, max: delivery.max + commits.last!))
    } catch {
      await primary.shutdown()
      await standby.shutdown()
      throw error
    }
  }

  func steadyLag(primary: EtcdClient, standby: EtcdClient, client: EtcdClient, rate: Int, duration: Duration) async throws
    -> (lag: Lag, floor: Lag)
  {
    let acked = NIOLockedValueBox([String: ContinuousClock.Instant]())
    let seen = NIOLockedValueBox([String: ContinuousClock.Instant]())
    let seenOnPrimary = NIOLockedValueBox([String: ContinuousClock.Instant]())
    let fromStandby = try await standby.kv.range("", prefix: true, limit: 1).revision
    let fromPrimary = try await primary.kv.range("", prefix: true, limit: 1).revision
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (client, from, into) in [(standby, fromStandby, seen), (primary, fromPrimary, seenOnPrimary)] {
        group.addTask {
          for try await response in client.watch("/bench/lag/", options: EtcdWatchOptions(prefix: true, startRevision: from + 1)) {
            let now = ContinuousClock.now
            into.withLockedValue { s in for e in response.events { s[e.kv.keyString] = now } }
          }
        }
      }
      defer { group.cancelAll() }
      let count = Int(duration.seconds * Double(rate))
      let t0 = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { writers in
        for i in 0..<count {
          writers.addTask {
            let key = "/bench/lag/\(i)"
            if (try? await client.kv.put(key, "x")) != nil { acked.withLockedValue { $0[key] = .now } }
          }
          if i % 64 == 63 { try await writers.next() }
          try await Task.sleep(until: t0 + .seconds(Double(i + 1) / Double(rate)))
        }
        try await writers.waitForAll()
      }
      try await Task.sleep(for: .seconds(2))
    }
    let ackedAt = acked.withLockedValue { $0 }
    func distribution(_ seen: [String: ContinuousClock.Instant]) throws -> Lag {
      let lags = ackedAt.compactMap { key, at in seen[key].map { max(0, ($0 - at).seconds) } }.sorted()
      guard !lags.isEmpty else { throw BenchError("no acknowledged write was seen by the watch") }
      return Lag(
        samples: lags.count, p50: lags[lags.count / 2], p99: lags[min(lags.count - 1, Int(Double(lags.count) * 0.99))],
        max: lags.last!)
    }
    return (try distribution(seen.withLockedValue { $0 }), try distribution(seenOnPrimary.withLockedValue { $0 }))
  }

  /// Freezes every member of the active side while writing through the proxy; waits for the failover.
  func siteLoss(trial: Int, engine: Engine, client: EtcdClient, rate: Int) async throws -> Trial {
    let from = await engine.repairs.activeSide(of: "a")
    let to = from == "a" ? "b" : "a"
    let side = cluster(from)
    let before = (try? await engine.store.plans(cluster: "a", limit: 1).first?.id) ?? 0
    let acked = NIOLockedValueBox([(key: String, at: Double)]())
    let firstAfter = NIOLockedValueBox<Double?>(nil)
    let faultAt = NIOLockedValueBox<Double>(.infinity)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        var i = 0
        while !Task.isCancelled {
          let key = "/bench/trial\(trial)/\(i)"
          i += 1
          let sent = Date().timeIntervalSince1970
          if (try? await client.kv.put(key, "x")) != nil {
            let now = Date().timeIntervalSince1970
            acked.withLockedValue { $0.append((key, now)) }
            if sent > faultAt.withLockedValue({ $0 }) { firstAfter.withLockedValue { if $0 == nil { $0 = now } } }
          }
          try await Task.sleep(for: .seconds(1.0 / Double(rate)))
        }
      }
      defer { group.cancelAll() }
      try await Task.sleep(for: .seconds(2))
      faultAt.withLockedValue { $0 = Date().timeIntervalSince1970 }
      for m in await side.members.map(\.name) { try await side.freeze(m) }
      guard try await BenchTiming.wait(timeout: .seconds(120), { firstAfter.withLockedValue { $0 } != nil }) else {
        throw BenchError("trial \(trial + 1): no write acknowledged through the proxy within 120 s of the site loss")
      }
      try await Task.sleep(for: .seconds(1))
    }
    let fault = faultAt.withLockedValue { $0 }
    let rto = (firstAfter.withLockedValue { $0 } ?? fault) - fault
    var plan: RepairPlan?
    _ = try await BenchTiming.wait(timeout: .seconds(60)) {
      plan = (try? await engine.store.plans(cluster: "a", limit: 10))?.first { $0.id > before && $0.runbook == .promoteStandby && $0.state.isFinished }
      return plan != nil
    }
    guard let plan, plan.state == .succeeded else {
      throw BenchError("trial \(trial + 1): no successful promote-standby (\(plan?.outcome ?? "none"))")
    }
    // Thaw the frozen side (its processes were killed by the fence; thawing a dead one is harmless) and let it
    // come back as the standby.
    for m in await side.members.map(\.name) where (try? await side.state(of: m)) == .frozen { try? await side.unfreeze(m) }
    let newSide = try await directClient(to)
    var lost: [Double] = []
    var afterFault = 0
    for (key, at) in acked.withLockedValue({ $0 }) where (try? await newSide.kv.get(key)) == nil {
      if at < fault { lost.append(at) } else { afterFault += 1 }
    }
    await newSide.shutdown()
    return Trial(
      rto: rto, lostWrites: lost.count, lostWindow: lost.min().map { fault - $0 } ?? 0, ackedByFenced: afterFault, from: from,
      to: to, rpoRevisions: plan.context["failover.lostRevisions"] ?? "?")
  }
}
