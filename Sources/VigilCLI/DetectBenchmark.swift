import ArgumentParser
import Foundation
import Logging
import VigilConfig
import VigilCore
import VigilEngine
import VigilEtcd
import VigilRuntime
import VigilMonitor
import VigilStore

/// `vigil bench detect`: time to detect a killed and a frozen member at P0
/// beside the floor the tier sets (its probe interval); the engine's own CPU
/// per 1,000 probes at 1, 100 and 1,000 targets; and a healthy soak that must
/// see no "failed" state.
struct DetectBenchmark: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "detect",
    abstract: "Time to detect killed/frozen members (P0), the probe engine's CPU per 1,000 probes, a healthy soak.",
    discussion: "Starts its own local 3-member cluster. Detection time: fault injected → member confirmed failed."
  )

  @Option(help: "Trials per fault.")
  var trials: Int = 20

  @Option(help: "Comma-separated target counts for the CPU cost.")
  var targets: String = "1,100,1000"

  @Option(help: "Comma-separated probe kinds for the CPU cost (etcd.kv, etcd.member, tcp).")
  var probes: String = "etcd.kv,etcd.member,tcp"

  @Option(help: "Seconds to measure each cost cell.")
  var costSeconds: Double = 10

  @Option(help: "Seconds of healthy running that must see no failed state (0 skips it).")
  var soak: Double = 600

  func validate() throws {
    guard (1...1000).contains(trials) else { throw ValidationError("--trials \(trials) is out of range (1 to 1000)") }
    for t in targets.split(separator: ",") {
      guard let n = Int(t), (1...10_000).contains(n) else {
        throw ValidationError("--targets \"\(t)\" is not a number from 1 to 10000")
      }
    }
    for p in probes.split(separator: ",") where !["etcd.kv", "etcd.member", "tcp"].contains(String(p)) {
      throw ValidationError("--probes \"\(p)\" is not one of etcd.kv, etcd.member, tcp")
    }
    guard costSeconds > 0, soak >= 0 else { throw ValidationError("--cost-seconds must be > 0 and --soak ≥ 0") }
  }

  func run() async throws {
    var logger = Logger(label: "vigil.bench")
    logger.logLevel = .warning
    let cluster = try await LocalCluster.start(LocalClusterOptions(members: 3), logger: logger)
    do {
      try await measure(cluster, logger: logger)
    } catch {
      await cluster.shutdown()
      throw error
    }
    await cluster.shutdown()
  }

  func measure(_ cluster: LocalCluster, logger: Logger) async throws {
    let endpoints = await cluster.endpoints.map(\.description)
    let floor = TierConfig.defaults["P0"]!.probeInterval.duration.seconds
    print("vigil bench detect: local 3-member cluster, tier P0 (probe every \(Int(floor * 1000)) ms, timeout 500 ms)")

    // 1. Time to detect.
    var rows = Table(["FAULT", "TRIALS", "MEDIAN", "P90", "MAX", "FLOOR", "MEDIAN/FLOOR", "GOAL"])
    for fault in ["killed", "frozen"] {
      var times: [Double] = []
      try await withMonitor(endpoints: endpoints, cluster: cluster, tier: "P0", copies: 1, kinds: ["etcd.kv", "etcd.member"], logger: logger) { monitor in
        for trial in 0..<trials {
          let name = ["m2", "m3"][trial % 2]
          let subject = "bench-0/\(name)"
          guard
            try await BenchTiming.wait({
              let open = await monitor.openIncidents
              return await monitor.health(of: subject) == .healthy && open.isEmpty
            })
          else {
            throw CLIError("\(subject) did not become healthy before trial \(trial + 1)")
          }
          let injected = Date().timeIntervalSince1970
          if fault == "killed" { try await cluster.kill(name) } else { try await cluster.freeze(name) }
          guard try await BenchTiming.wait({ await monitor.health(of: subject) == .failed }) else {
            throw CLIError("\(fault) \(name) was not detected within 30 s (trial \(trial + 1))")
          }
          let detected = await monitor.openIncidents.first { $0.subject == subject }?.detectedAt ?? Date().timeIntervalSince1970
          times.append(detected - injected)
          if fault == "killed" { try await cluster.start(name) } else { try await cluster.unfreeze(name) }
        }
      }
      let (median, p90, worst) = BenchTiming.spread(times)
      rows.add([
        fault, "\(times.count)", BenchTiming.seconds(median), BenchTiming.seconds(p90), BenchTiming.seconds(worst),
        BenchTiming.seconds(floor), String(format: "%.1f", median / floor),
        fault == "killed" ? "≤ 1 s" : "≤ 3 s",
      ])
    }
    print("\nTime to detect (fault injected → member confirmed failed):")
    print(rows.render())

    // 2. The engine's own CPU per 1,000 probes.
    var cost = Table(["PROBE", "TARGETS", "PROBES", "PROBES/S", "VIGIL CPU-S", "CPU-S PER 1000", "PROBES PER CPU-S", "GOAL"])
    for kind in probes.split(separator: ",").map(String.init) {
      for count in targets.split(separator: ",").compactMap({ Int($0) }) {
        // etcd.member targets are per member (3 per copy); tcp and etcd.kv one per copy.
        let perCopy = kind == "etcd.member" ? 3 : 1
        let copies = max(1, (count + perCopy - 1) / perCopy)
        // Spread the load: about 200 probes/s in total whatever the target count.
        let intervalMs = max(5, count * 5)
        let tier = "bench\(intervalMs)"
        var measured: (runs: Int, cpu: Double, seconds: Double) = (0, 0, 0)
        try await withMonitor(
          endpoints: endpoints, cluster: cluster, tier: tier, copies: copies, kinds: [kind], intervalMs: intervalMs,
          logger: logger
        ) { monitor in
          try await Task.sleep(for: .seconds(2))  // connections, leases, first runs
          let runs0 = await monitor.completedRuns
          let cpu0 = Self.processCPU()
          let t0 = ContinuousClock.now
          try await Task.sleep(for: .seconds(costSeconds))
          let runs1 = await monitor.completedRuns
          measured = (runs1 - runs0, Self.processCPU() - cpu0, (ContinuousClock.now - t0).seconds)
        }
        let per1000 = measured.runs > 0 ? measured.cpu / Double(measured.runs) * 1000 : 0
        cost.add([
          kind, "\(copies * perCopy)", "\(measured.runs)", String(format: "%.0f", Double(measured.runs) / measured.seconds),
          String(format: "%.2f", measured.cpu), String(format: "%.3f", per1000),
          per1000 > 0 ? String(format: "%.0f", 1000 / per1000) : "-", "≤ 0.2",
        ])
      }
    }
    print("\nProbe engine cost (Vigil's process CPU, user+system; etcd excluded):")
    print(cost.render())

    // 3. A healthy soak must see no failed state.
    if soak > 0 {
      var failed = 0
      var runs = 0
      try await withMonitor(endpoints: endpoints, cluster: cluster, tier: "P0", copies: 1, kinds: ["etcd.kv", "etcd.watch", "etcd.member"], logger: logger) { monitor in
        try await Task.sleep(for: .seconds(soak))
        failed = await monitor.failedTransitions
        runs = await monitor.completedRuns
      }
      print("\nHealthy soak at P0 (\(Int(soak)) s, etcd.kv + etcd.watch + etcd.member, \(runs) probe runs): \(failed) false \"failed\" state(s) (goal: 0)")
    }
  }

  /// Runs a monitor over `copies` cluster entries that all point at the same real members.
  func withMonitor(
    endpoints: [String], cluster: LocalCluster, tier: String, copies: Int, kinds: [String], intervalMs: Int = 200,
    logger: Logger, _ body: (Monitor) async throws -> Void
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
      probeSuites:
        - name: s
          probes:
      \(probes.joined(separator: "\n"))
      clusters:
      \(clusters.joined(separator: "\n"))
      """
    let config: VigilConfiguration
    do { config = try ConfigLoader.parse(yaml, file: "bench") } catch { throw CLIError("\(error)") }
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

  static func processCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
      + Double(usage.ru_stime.tv_usec) / 1e6
  }
}
