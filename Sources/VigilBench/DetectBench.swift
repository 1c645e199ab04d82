import Foundation
import Logging
import NIOCore
import NIOPosix
import VigilConfig
import VigilCore
import VigilEngine
import VigilEtcd
import VigilMonitor
import VigilProbes
import VigilRuntime
import VigilStore

/// What `vigil bench detect` measures, on a local 3-member cluster it starts: the time to detect a killed and
/// a frozen member at P0, the probe engine's own CPU per 1,000 probes, and a healthy soak that must see no
/// "failed" state. The command renders; this measures.
public struct DetectBench: Sendable {
  public enum Fault: String, Sendable, CaseIterable {
    case killed, frozen
  }

  /// One cell of the engine-cost table.
  public struct Cost: Sendable {
    public var kind: String
    public var targets: Int
    public var runs: Int
    /// Vigil's process CPU (user + system) over the measurement.
    public var cpuSeconds: Double
    public var seconds: Double
    public var cpuPer1000: Double { runs > 0 ? cpuSeconds / Double(runs) * 1000 : 0 }
    public var probesPerSecond: Double { seconds > 0 ? Double(runs) / seconds : 0 }
  }

  public let cluster: LocalCluster
  public let endpoints: [String]
  let logger: Logger

  /// The probe interval of tier P0: the floor detection is measured against.
  public static var floor: Double { TierConfig.defaults["P0"]!.probeInterval.duration.seconds }

  /// Starts the cluster the measurements run against.
  public static func start() async throws -> DetectBench {
    var logger = Logger(label: "vigil.bench")
    logger.logLevel = .warning
    let cluster = try await LocalCluster.start(LocalClusterOptions(members: 3), logger: logger)
    return DetectBench(cluster: cluster, endpoints: await cluster.endpoints.map(\.description), logger: logger)
  }

  public func shutdown() async { await cluster.shutdown() }

  /// Seconds from fault injected to member confirmed failed, one per trial (followers m2 and m3 in turn).
  public func detectionTimes(_ fault: Fault, trials: Int) async throws -> [Double] {
    var times: [Double] = []
    try await withMonitor(tier: "P0", copies: 1, kinds: ["etcd.kv", "etcd.member"]) { monitor in
      for trial in 0..<trials {
        let name = ["m2", "m3"][trial % 2]
        let subject = "bench-0/\(name)"
        guard
          try await BenchTiming.wait({
            let open = await monitor.openIncidents
            return await monitor.health(of: subject) == .healthy && open.isEmpty
          })
        else {
          throw BenchError("\(subject) did not become healthy before trial \(trial + 1)")
        }
        let injected = Date().timeIntervalSince1970
        switch fault {
        case .killed: try await cluster.kill(name)
        case .frozen: try await cluster.freeze(name)
        }
        guard try await BenchTiming.wait({ await monitor.health(of: subject) == .failed }) else {
          throw BenchError("\(fault.rawValue) \(name) was not detected within 30 s (trial \(trial + 1))")
        }
        let detected =
          await monitor.openIncidents.first { $0.subject == subject }?.detectedAt ?? Date().timeIntervalSince1970
        times.append(detected - injected)
        switch fault {
        case .killed: try await cluster.start(name)
        case .frozen: try await cluster.unfreeze(name)
        }
      }
    }
    return times
  }

  /// The engine's own CPU per 1,000 probes of `kind` at `count` targets (about 200 probes/s in total whatever
  /// the count; every target points at the same three members).
  public func cost(kind: String, targets count: Int, seconds: Double) async throws -> Cost {
    // etcd.member targets are per member (3 per copy); tcp and etcd.kv one per copy.
    let perCopy = kind == "etcd.member" ? 3 : 1
    let copies = max(1, (count + perCopy - 1) / perCopy)
    let intervalMs = max(5, count * 5)
    var cost = Cost(kind: kind, targets: copies * perCopy, runs: 0, cpuSeconds: 0, seconds: 0)
    try await withMonitor(tier: "bench\(intervalMs)", copies: copies, kinds: [kind], intervalMs: intervalMs) { monitor in
      try await Task.sleep(for: .seconds(2))  // connections, leases, first runs
      let runs0 = await monitor.completedRuns
      let cpu0 = Self.processCPU()
      let t0 = ContinuousClock.now
      try await Task.sleep(for: .seconds(seconds))
      cost.runs = await monitor.completedRuns - runs0
      cost.cpuSeconds = Self.processCPU() - cpu0
      cost.seconds = (ContinuousClock.now - t0).seconds
    }
    return cost
  }

  /// What a probe's own client work costs without the engine: Vigil's CPU per 1,000 bare operations, run one
  /// at a time at the pace of the cost cells (about 200/s) — an etcd call (`Maintenance.Status`) on a
  /// connection pinned to a member, or a TCP connect and close.
  public enum FloorOperation: String, Sendable, CaseIterable {
    case etcdCall = "etcd call"
    case tcpConnect = "tcp connect"
  }

  public func floor(_ operation: FloorOperation, seconds: Double) async throws -> Cost {
    let endpoint = try EtcdEndpoint(parsing: endpoints[0])
    let client = try EtcdClient(configuration: EtcdClientConfiguration(endpoints: [endpoint]))
    let tcp = TCPProbe(name: "floor", target: "floor", host: endpoint.host, port: endpoint.port)
    let loop = MultiThreadedEventLoopGroup.singleton.any()
    func once() async throws {
      switch operation {
      case .etcdCall: _ = try await client.maintenance.status()
      case .tcpConnect:
        let r = await tcp.run(timeout: .seconds(2))
        guard r.succeeded else { throw BenchError("floor: \(r.message)") }
      }
    }
    var cost = Cost(kind: operation.rawValue, targets: 1, runs: 0, cpuSeconds: 0, seconds: 0)
    do {
      for _ in 0..<20 { try await once() }  // connection and warm-up
      let cpu0 = Self.processCPU()
      let t0 = ContinuousClock.now
      let end = t0 + .seconds(seconds)
      var next = t0
      while ContinuousClock.now < end {
        try await once()
        cost.runs += 1
        // Paced like the cost cells (every 5 ms), on an event-loop timer as the probe loops wait.
        next = next + .milliseconds(5)
        let wait = ContinuousClock.now.duration(to: next)
        if wait > .zero {
          try await loop.scheduleTask(in: .nanoseconds(wait.nanoseconds)) {}.futureResult.get()
        }
      }
      cost.cpuSeconds = Self.processCPU() - cpu0
      cost.seconds = (ContinuousClock.now - t0).seconds
    } catch {
      await client.shutdown()
      throw error
    }
    await client.shutdown()
    return cost
  }

  /// Runs healthy at P0 for `seconds`: "failed" transitions seen (the goal is none) and probe runs.
  public func soak(seconds: Double) async throws -> (failed: Int, runs: Int) {
    var result = (failed: 0, runs: 0)
    try await withMonitor(tier: "P0", copies: 1, kinds: ["etcd.kv", "etcd.watch", "etcd.member"]) { monitor in
      try await Task.sleep(for: .seconds(seconds))
      result = (await monitor.failedTransitions, await monitor.completedRuns)
    }
    return result
  }

  /// Runs a monitor over `copies` cluster entries that all point at the same real members.
  func withMonitor(
    tier: String, copies: Int, kinds: [String], intervalMs: Int = 200, _ body: (Monitor) async throws -> Void
  ) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let first = try EtcdEndpoint(parsing: endpoints[0])
    let probes = kinds.map { k in
      k == "tcp" ? "      - {kind: tcp, address: \"\(first.authority)\"}" : "      - {kind: \(k), perMember: \(k == "etcd.member")}"
    }
    let clusters = (0..<copies).map { i in
      "  - {name: bench-\(i), endpoints: [\(endpoints.joined(separator: ", "))], tier: \(tier), probeSuites: [s]}"
    }
    let yaml = """
      stateDir: \(dir)
      tiers:
        bench\(intervalMs): {probeInterval: \(intervalMs)ms, probeTimeout: 2s}
      inspections: {interval: 1h}
      scheduler: {membershipInterval: 1h}
      backup: {enabled: false}
      probeSuites:
        - name: s
          probes:
      \(probes.joined(separator: "\n"))
      clusters:
      \(clusters.joined(separator: "\n"))
      """
    let config: VigilConfiguration
    do { config = try ConfigLoader.parse(yaml, file: "bench") } catch { throw BenchError("\(error)") }
    // Every copy shares one client: the cost measured is the engine's, not that of more connections.
    let shared = try EtcdClient(configuration: EtcdClientConfiguration(endpoints: try EtcdEndpoint.parseList(endpoints.joined(separator: ","))))
    var hookups: [String: ClusterHookup] = [:]
    for c in config.clusters { hookups[c.name] = ClusterHookup(local: cluster, client: shared) }
    let engine = try await Engine.build(config, hookups: hookups, logger: logger)
    await engine.start(repairs: false)
    do { try await body(engine.monitor) } catch {
      await engine.shutdown()
      await shared.shutdown()
      throw error
    }
    await engine.shutdown()
    await shared.shutdown()
  }

  /// This process's CPU time so far (user + system), in seconds.
  public static func processCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
      + Double(usage.ru_stime.tv_usec) / 1e6
  }
}
