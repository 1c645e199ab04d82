import Foundation
import Logging
import NIOCore
import VigilConfig
import VigilCoordination
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilOracle
import VigilProxy
import VigilStore

/// What a drill run leaves behind besides its verdict.
public struct DrillOutcome: Sendable {
  public var run: DrillRun
  public var history: [RecordedOperation]

  public init(run: DrillRun, history: [RecordedOperation]) {
    self.run = run
    self.history = history
  }
}

/// Runs one scenario once: test hosts, a cluster on them, Vigil guarding it
/// from outside, the recorded workload, the fault, the wait for recovery, the
/// final reads, the checker, the verdict. Everything it created is removed
/// afterwards, even when it fails.
public struct DrillRunner: Sendable {
  /// Vigil's configuration; its first cluster describes the drill's cluster.
  public var config: VigilConfiguration
  /// Where each run's cluster data and Vigil state go (removed after the run unless `keep`).
  public var workDirectory: String
  public var keep = false
  /// Time with the workload running before the fault, and after recovery.
  public var warmup: Duration = .seconds(2)
  public var cooldown: Duration = .seconds(2)
  /// How long a fault may take to be repaired before the run is failed.
  public var recoveryTimeout: Duration = .seconds(90)
  public var logger: Logger

  public init(config: VigilConfiguration, workDirectory: String, logger: Logger) {
    self.config = config
    self.workDirectory = workDirectory
    self.logger = logger
  }

  /// The cluster a drill may touch, or a clear refusal.
  public static func drillCluster(_ config: VigilConfiguration, named name: String?) throws -> ClusterConfig {
    let candidates = name.map { n in config.clusters.filter { $0.name == n } } ?? config.clusters
    guard let cluster = candidates.first else {
      let known = config.clusters.map(\.name).joined(separator: ", ")
      throw DrillError("--cluster \(name ?? ""): no such cluster in the configuration (clusters: \(known))")
    }
    guard cluster.drillAllowed else {
      throw DrillError(
        "clusters[\(cluster.name)].drillAllowed is false: a drill only touches a cluster marked drillAllowed: true")
    }
    guard case .local = cluster.runtime else {
      throw DrillError(
        "clusters[\(cluster.name)].runtime is not local: a drill builds its cluster on its own test hosts (runtime: {kind: local})"
      )
    }
    return cluster
  }

  public func run(_ scenario: DrillScenario, repeatIndex: Int, seed: UInt64) async throws -> DrillOutcome {
    let runDir = workDirectory + "/\(scenario.name)-\(repeatIndex + 1)"
    try? FileManager.default.removeItem(atPath: runDir)
    try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
    defer { if !keep { try? FileManager.default.removeItem(atPath: runDir) } }
    let clusterConfig = config.clusters[0]
    let size: Int
    if case .local(let members) = clusterConfig.runtime { size = members } else { size = 3 }
    // A drill with a standby site puts it on hosts of its own: h1…hN the primary's site, the rest the standby's.
    let network = try await TestNetwork.create(hosts: scenario.fault.needsStandby ? 2 * size : size, logger: logger)
    var cleanup = Cleanup()
    cleanup.add { await network.remove() }
    do {
      let outcome = try await run(scenario, repeatIndex: repeatIndex, seed: seed, network: network, size: size, runDir: runDir, cleanup: &cleanup)
      await cleanup.run()
      return outcome
    } catch {
      await cleanup.run()
      throw error
    }
  }

  private func run(
    _ scenario: DrillScenario, repeatIndex: Int, seed: UInt64, network: TestNetwork, size: Int, runDir: String,
    cleanup: inout Cleanup
  ) async throws -> DrillOutcome {
    var options = LocalClusterOptions(members: size, directory: runDir + "/cluster")
    options.hosts = Array(network.hosts.prefix(size))
    options.quotaBackendBytes = scenario.quotaBytes ?? config.clusters[0].quotaBytes
    let cluster = try await LocalCluster.start(options, logger: logger)
    cleanup.add { await cluster.shutdown() }
    var vigilConfig = config
    vigilConfig.stateDir = runDir + "/vigil"
    vigilConfig.clusters = [config.clusters[0]]
    vigilConfig.clusters[0].quotaBytes = options.quotaBackendBytes
    // A drill is a person's explicit go-ahead: restores from backup run without waiting for approval.
    vigilConfig.repair.restoreMode = .auto
    let admin = try DrillAdmin(endpoints: await cluster.endpoints)
    cleanup.add { await admin.shutdown() }
    var sites: DrillSites?
    if scenario.fault.needsStandby {
      sites = try await startStandbySite(network: network, size: size, runDir: runDir, config: &vigilConfig, cleanup: &cleanup)
    }
    var clusters = [vigilConfig.clusters[0].name: cluster]
    if let sites { clusters[sites.standbyName] = sites.standby }
    var replicas: [GuardUnderTest] = []
    let vigil: GuardUnderTest
    var links: ReplicaLinks?
    var more: ReplicaFactory?
    if scenario.fault.needsReplicas {
      (replicas, links, more) = try await startReplicas(
        3, config: &vigilConfig, clusters: clusters, runDir: runDir, graceful: scenario.fault == .vigilChurn,
        cleanup: &cleanup)
      vigil = replicas[0]
    } else {
      vigil = try await GuardUnderTest.start(config: vigilConfig, clusters: clusters, logger: logger)
    }
    let execution = DrillExecution(
      scenario: scenario, cluster: cluster, network: network, admin: admin, config: vigilConfig, logger: logger,
      vigil: vigil, sites: sites, replicas: replicas, links: links, moreReplicas: more)
    // Vigil stops first (the execution may have replaced it), before the clusters it guards.
    cleanup.add { await execution.stopVigil() }
    return try await execution.perform(
      repeatIndex: repeatIndex, seed: seed, warmup: warmup, cooldown: cooldown, recoveryTimeout: recoveryTimeout)
  }

  /// Vigil as `count` replicas (in this process, each its own engine and state directory): a 1-member management
  /// etcd on loopback, reached by each replica through a proxy of its own (the drill can cut one off), one
  /// throwaway PostgreSQL for their shared store, 5 s leases.
  private func startReplicas(
    _ count: Int, config: inout VigilConfiguration, clusters: [String: LocalCluster], runDir: String, graceful: Bool,
    cleanup: inout Cleanup
  ) async throws -> ([GuardUnderTest], ReplicaLinks, ReplicaFactory) {
    // Under /tmp: the server runs as the postgres user when the drill runs as root.
    let pgDir = "/tmp/vigil-pg-\(UUID().uuidString.prefix(8))"
    let postgres = try await ScratchPostgres.start(in: pgDir)
    cleanup.add {
      await postgres.stop()
      try? FileManager.default.removeItem(atPath: pgDir)
    }
    config.history.postgres = try PostgresAddress.parse(postgres.url)
    let management = try await LocalCluster.start(
      LocalClusterOptions(members: 1, directory: runDir + "/management"), logger: logger)
    cleanup.add { await management.shutdown() }
    guard let endpoint = await management.endpoints.first else { throw DrillError("the management etcd has no endpoint") }
    let names = (1...count).map { "vigil-\($0)" }
    let links = try await ReplicaLinks.start(names, management: endpoint)
    cleanup.add { await links.stop() }
    var replicas: [GuardUnderTest] = []
    for (i, name) in names.enumerated() {
      var mine = config
      mine.stateDir = runDir + "/\(name)"
      var clientConfig = EtcdClientConfiguration(endpoints: [try links.endpoint(name)])
      clientConfig.callTimeout = .seconds(1)
      let client = try EtcdClient(configuration: clientConfig)
      cleanup.add { await client.shutdown() }
      do {
        replicas.append(
          try await GuardUnderTest.start(
            config: mine, clusters: clusters, logger: logger, replica: (Self.replicaSettings(name), client),
            revokes: graceful))
      } catch {
        for r in replicas { await r.stop() }
        throw DrillError("cannot start replica \(i + 1) of Vigil: \(error)")
      }
    }
    // More replicas (vigil-churn's), straight to the management etcd, each with a client of its own.
    let shared = config
    let logger = self.logger
    let more: ReplicaFactory = { name in
      var mine = shared
      mine.stateDir = runDir + "/\(name)"
      let client = try EtcdClient(configuration: EtcdClientConfiguration(endpoints: [endpoint]))
      do {
        return try await GuardUnderTest.start(
          config: mine, clusters: clusters, logger: logger, replica: (Self.replicaSettings(name), client),
          revokes: graceful, ownsClient: true)
      } catch {
        await client.shutdown()
        throw error
      }
    }
    return (replicas, links, more)
  }

  /// Starts one more replica of Vigil by name.
  typealias ReplicaFactory = @Sendable (_ name: String) async throws -> GuardUnderTest

  /// The lease TTL of the drills' replicas (coordination.leaseTTL's default).
  static let replicaLeaseTTL: Int64 = 5

  /// A drill replica's coordination: 8 shards, 5 s leases, a balance turn every 0.5 s (serve's TTL/10).
  static func replicaSettings(_ name: String) -> ReplicaCoordinator.Settings {
    var settings = ReplicaCoordinator.Settings(replicaID: name, ttl: replicaLeaseTTL, shards: 8)
    settings.turn = .milliseconds(500)
    return settings
  }

  /// The standby site: a second cluster like the drill's on the second half of the hosts, configured as the
  /// drill cluster's standby (failovers automatic: the drill is a person's go-ahead), and the proxy in front.
  private func startStandbySite(
    network: TestNetwork, size: Int, runDir: String, config: inout VigilConfiguration, cleanup: inout Cleanup
  ) async throws -> DrillSites {
    var options = LocalClusterOptions(members: size, directory: runDir + "/standby")
    options.hosts = Array(network.hosts.suffix(size))
    options.quotaBackendBytes = config.clusters[0].quotaBytes
    let standby = try await LocalCluster.start(options, logger: logger)
    cleanup.add { await standby.shutdown() }
    let admin = try DrillAdmin(endpoints: await standby.endpoints)
    cleanup.add { await admin.shutdown() }
    var dr = config.clusters[0]
    dr.name += "-dr"
    dr.standby = nil
    config.clusters[0].standby = dr.name
    config.clusters.append(dr)
    config.repair.failoverMode = .auto
    // Small enough that the churn's 40-put transactions are applied in parts.
    config.standby.maxTxnOps = 16
    // Backups are not what these drills exercise; their snapshots and verifications would only load the machine.
    config.backup.enabled = false
    let proxy = TCPProxy(logger: logger)
    try await proxy.start(host: "127.0.0.1", port: 0)
    cleanup.add { await proxy.stop() }
    return DrillSites(
      primaryName: config.clusters[0].name, standbyName: dr.name, standby: standby,
      primaryHosts: network.hosts.prefix(size).map(\.name), standbyHosts: network.hosts.suffix(size).map(\.name),
      standbyAdmin: admin, proxy: proxy)
  }
}

/// What a drill run must undo, newest first, whether it ends well or not.
struct Cleanup {
  private var steps: [@Sendable () async -> Void] = []

  mutating func add(_ step: @escaping @Sendable () async -> Void) { steps.append(step) }

  func run() async {
    for step in steps.reversed() { await step() }
  }
}
