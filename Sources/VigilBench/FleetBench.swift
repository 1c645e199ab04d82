import Foundation
import Logging
import VigilConfig
import VigilCoordination
import VigilCore
import VigilEngine
import VigilEtcd
import VigilMonitor
import VigilRuntime

/// What `vigil bench fleet` measures: one process guarding a fleet of logical clusters (each its own client
/// and connections, all on the members of one local 3-member etcd) at a 1 s member-probe interval — its CPU,
/// resident memory, how late probes start, and how long it takes to see a killed follower in every cluster —
/// then the same fleet split across replicas on a management etcd, and how long after one replica dies every
/// cluster is guarded again. The command renders; this measures.
public final class FleetBench: Sendable {
  public struct Settings: Sendable {
    public var clusters = 1000
    public var interval: Duration = .seconds(1)
    /// The measured window (after a warm-up in which every target ran once).
    public var window: Duration = .seconds(30)
    public var replicas = 3
    public var ttl: Int64 = 5
    public var shards = 64
    /// `detector.failuresToFail`: bad probes in a row before the confirming re-probe (Vigil's default 2).
    public var failuresToFail = 2
    public init() {}
  }

  /// One process (or several replicas in one) over the measured window.
  public struct Load: Sendable {
    public var guards: Int
    public var targets: Int
    public var probes: Int
    public var seconds: Double
    /// CPU seconds per second of the whole process (1.0 = one core busy).
    public var cores: Double
    public var residentMiB: Double
    public var peakResidentMiB: Double
    /// How late probes started, in seconds, sorted.
    public var lag: [Double]
    public var probesPerSecond: Double { seconds > 0 ? Double(probes) / seconds : 0 }
  }

  public struct Detection: Sendable {
    /// Kill → failed, one per logical cluster that saw it (sorted).
    public var times: [Double]
    public var clusters: Int
  }

  public struct Takeover: Sendable {
    /// The dead replica's last lease renewal → every cluster guarded by a live replica.
    public var fromLastRenewal: Double
    /// Clusters the dead replica guarded.
    public var moved: Int
  }

  public let settings: Settings
  let cluster: LocalCluster
  let logger: Logger

  init(settings: Settings, cluster: LocalCluster, logger: Logger) {
    self.settings = settings
    self.cluster = cluster
    self.logger = logger
  }

  public static func start(_ settings: Settings) async throws -> FleetBench {
    var logger = Logger(label: "vigil.bench.fleet")
    logger.logLevel = .critical
    let cluster = try await LocalCluster.start(LocalClusterOptions(members: 3), logger: logger)
    return FleetBench(settings: settings, cluster: cluster, logger: logger)
  }

  public func shutdown() async { await cluster.shutdown() }

  /// The fleet's configuration: `fleet-0` … on the local members, member probes only at `interval`.
  func configuration(stateDir: String) async throws -> VigilConfiguration {
    let endpoints = await cluster.endpoints.map(\.description).joined(separator: ", ")
    let ms = settings.interval.components.seconds * 1000 + settings.interval.components.attoseconds / 1_000_000_000_000_000
    let clusters = (0..<settings.clusters).map { "  - {name: fleet-\($0), endpoints: [\(endpoints)], tier: fleet, probeSuites: [m]}" }
    let yaml = """
      stateDir: \(stateDir)
      tiers:
        fleet: {probeInterval: \(ms)ms, probeTimeout: 1s}
      inspections: {interval: 1h}
      backup: {enabled: false}
      detector: {failuresToFail: \(settings.failuresToFail)}
      probeSuites:
        - name: m
          probes: [{kind: etcd.member, perMember: true}]
      clusters:
      \(clusters.joined(separator: "\n"))
      """
    do { return try ConfigLoader.parse(yaml, file: "bench-fleet") } catch { throw BenchError("\(error)") }
  }

  // MARK: one process

  /// One process guarding the whole fleet: the load over the window, then a member killed and seen.
  public func oneProcess() async throws -> (load: Load, detection: Detection) {
    let dir = Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let engine = try await Engine.build(try await configuration(stateDir: dir), logger: logger)
    await engine.start(repairs: false, backups: false)
    do {
      guard try await BenchTiming.wait(timeout: .seconds(120), { await engine.monitor.isReady }) else {
        throw BenchError("the fleet's first round of probes did not finish within 120 s")
      }
      let load = try await measure([engine.monitor])
      let detection = try await killAndSee(engine.monitor)
      await engine.shutdown()
      return (load, detection)
    } catch {
      await engine.shutdown()
      throw error
    }
  }

  /// The load over the window: process CPU and memory, probes run and their lag.
  func measure(_ monitors: [Monitor]) async throws -> Load {
    // Settle first: connections made, the first round's burst over.
    try await Task.sleep(for: .seconds(5))
    var runs0 = 0
    var targets = 0
    var guards = 0
    for m in monitors {
      runs0 += await m.completedRuns
      targets += await m.targetCount
      guards += await m.guardedClusters.count
      _ = m.metrics.probeLag.drain()
    }
    let cpu0 = DetectBench.processCPU()
    let t0 = ContinuousClock.now
    try await Task.sleep(for: settings.window)
    let cpu1 = DetectBench.processCPU()
    let seconds = (ContinuousClock.now - t0).seconds
    var runs1 = 0
    var lag: [Double] = []
    for m in monitors {
      runs1 += await m.completedRuns
      lag += m.metrics.probeLag.drain()
    }
    let memory = Self.memory()
    return Load(
      guards: guards, targets: targets, probes: runs1 - runs0, seconds: seconds, cores: (cpu1 - cpu0) / seconds,
      residentMiB: memory.resident, peakResidentMiB: memory.peak, lag: lag.sorted())
  }

  /// Kills a follower (SIGKILL) and waits until every cluster has it failed; starts it again. A follower: killing
  /// the leader starts an election, and Vigil holds a member's "failed" while one settles (about 2 s more).
  func killAndSee(_ monitor: Monitor) async throws -> Detection {
    let client = try EtcdClient(configuration: cluster.clientConfiguration(endpoints: await cluster.endpoints))
    let victim: String
    do { victim = try await RepairBench.follower(client, trial: 1) } catch {
      await client.shutdown()
      throw error
    }
    await client.shutdown()
    let killedAt = Date().timeIntervalSince1970
    try await cluster.kill([victim])
    let subjects = Set((0..<settings.clusters).map { "fleet-\($0)/\(victim)" })
    var times: [Double] = []
    _ = try await BenchTiming.wait(timeout: .seconds(30)) {
      let seen = await monitor.openIncidents.filter { subjects.contains($0.subject) && $0.detectedAt != nil }
      times = seen.compactMap { $0.detectedAt.map { $0 - killedAt } }
      return seen.count == subjects.count
    }
    try await cluster.start(victim)
    return Detection(times: times.sorted(), clusters: settings.clusters)
  }

  // MARK: replicas

  /// The fleet across `replicas` replicas (in this process) on a local 1-member management etcd: their load
  /// together, then one killed (its loops stopped, its lease left to expire) and the time until every cluster is
  /// guarded by a live one.
  public func replicas() async throws -> (load: Load, takeover: Takeover) {
    let management = try await LocalCluster.start(LocalClusterOptions(members: 1), logger: logger)
    let client = try EtcdClient(configuration: management.clientConfiguration(endpoints: await management.endpoints))
    var engines: [Engine] = []
    var loops: [Task<Void, Never>] = []
    var coordinators: [ReplicaCoordinator] = []
    let dir = Self.scratch()
    func cleanUp() async {
      for l in loops { l.cancel() }
      for l in loops { await l.value }
      for e in engines { await e.shutdown() }
      await client.shutdown()
      await management.shutdown()
      try? FileManager.default.removeItem(atPath: dir)
    }
    do {
      let victim = settings.replicas - 1
      for i in 0..<settings.replicas {
        let engine = try await Engine.build(try await configuration(stateDir: dir + "/r\(i)"), logger: logger)
        engines.append(engine)
        var s = ReplicaCoordinator.Settings(replicaID: "r\(i)", ttl: settings.ttl, shards: settings.shards, prefix: "/bench/fleet/")
        s.turn = .milliseconds(500)
        let coordinator = ReplicaCoordinator(client: client, settings: s, liveness: engine.monitor.liveness, logger: logger)
        coordinators.append(coordinator)
        await engine.coordinate(with: coordinator)
        loops.append(Task { await coordinator.run(leaving: i != victim) })
        await engine.start(repairs: false, backups: false)
      }
      let monitors = engines.map(\.monitor)
      func guarded(_ which: [Monitor]) async -> Int {
        var all = Set<String>()
        for m in which { all.formUnion(await m.guardedClusters) }
        return all.count
      }
      guard try await BenchTiming.wait(timeout: .seconds(120), { await guarded(monitors) == self.settings.clusters }) else {
        throw BenchError("the replicas did not guard the whole fleet within 120 s")
      }
      let load = try await measure(monitors)
      // Kill the victim: its coordinator stops renewing (no revoke); its monitor stops guarding once its lease is
      // no longer certain (its engine is shut down afterwards: stopping a thousand clients takes a while).
      let moved = await monitors[victim].guardedClusters.count
      loops[victim].cancel()
      await loops[victim].value
      guard let lastRenewal = await coordinators[victim].lastRenewalSent else { throw BenchError("the replica never renewed") }
      let survivors = Array(monitors.prefix(victim) + monitors.suffix(from: victim + 1))
      guard
        try await BenchTiming.wait(timeout: .seconds(60), { await guarded(survivors) == self.settings.clusters })
      else { throw BenchError("the fleet was not guarded again within 60 s of a replica's death") }
      let takeover = Takeover(fromLastRenewal: (ContinuousClock.now - lastRenewal).seconds, moved: moved)
      await cleanUp()
      return (load, takeover)
    } catch {
      await cleanUp()
      throw error
    }
  }

  // MARK: helpers

  static func scratch() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-fleet-\(UUID().uuidString.prefix(8))").path
  }

  /// This process's resident memory now and at its peak (VmRSS, VmHWM), in MiB.
  static func memory() -> (resident: Double, peak: Double) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> Double {
      guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
        let kb = line.split(separator: " ").compactMap({ Double($0) }).first
      else { return 0 }
      return kb / 1024
    }
    return (field("VmRSS"), field("VmHWM"))
  }

  /// The value at fraction `p` of sorted samples.
  public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
  }
}
