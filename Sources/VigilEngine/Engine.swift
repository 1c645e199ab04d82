import Foundation
import Logging
import ServiceLifecycle
import VigilBackup
import VigilConfig
import VigilEtcd
import VigilRuntime
import VigilMonitor
import VigilProbes
import VigilRepair
import VigilStore

/// A cluster the caller already runs, for the engine to guard (drills, tests, benchmarks): its members are
/// driven through the local runtime, their data dirs and quota come from it.
public struct ClusterHookup: Sendable {
  /// The running local cluster.
  public var local: LocalCluster?
  /// A client to use instead of one of the engine's own (several configured clusters may share one); the
  /// caller shuts it down.
  public var client: EtcdClient?

  public init(local: LocalCluster? = nil, client: EtcdClient? = nil) {
    self.local = local
    self.client = client
  }
}

/// An error building the engine, naming the setting at fault.
public struct EngineError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Vigil, built from a configuration: the one place that turns `vigil.yaml`
/// into clients, runtime drivers, the history store, the monitor and the
/// repair coordinator, and hands them back as swift-service-lifecycle
/// services. `vigil serve`, `vigil demo`, drills, benchmarks and tests all
/// build Vigil here; none wires the parts by hand.
///
/// ```swift
/// let engine = try await Engine.build(configuration, logger: logger)
/// let group = ServiceGroup(services: engine.services + [api], logger: logger)
/// try await group.run()
/// await engine.shutdown()
/// ```
public final class Engine: Sendable {
  public let configuration: VigilConfiguration
  public let store: HistoryStore
  public let monitor: Monitor
  public let repairs: RepairCoordinator
  /// Every cluster's backups (none when `backup.enabled` is false) and standby mirrors.
  public let backups: Backups
  /// Where backups are stored.
  public let backupStore: (any BackupStore)?
  /// Every metric the engine's parts write (monitor, repair, liveness), as `/metrics` renders them.
  public let metrics: PrometheusMetrics
  /// Where `exec` probes POST their JSON reports (its base URL is set once the API listens).
  public let inbox: ReportInbox
  /// Each configured cluster's client, in configuration order.
  public let clients: [(name: String, client: EtcdClient)]
  /// Local clusters the engine started itself (`runtime: local`); stopped by ``shutdown()``.
  public let startedClusters: [LocalCluster]
  private let ownedClients: [EtcdClient]

  private init(
    configuration: VigilConfiguration, store: HistoryStore, monitor: Monitor, repairs: RepairCoordinator,
    backups: Backups, backupStore: (any BackupStore)?, metrics: PrometheusMetrics, inbox: ReportInbox, clients: [(name: String, client: EtcdClient)], startedClusters: [LocalCluster],
    ownedClients: [EtcdClient]
  ) {
    self.configuration = configuration
    self.store = store
    self.monitor = monitor
    self.repairs = repairs
    self.backups = backups
    self.backupStore = backupStore
    self.metrics = metrics
    self.inbox = inbox
    self.clients = clients
    self.startedClusters = startedClusters
    self.ownedClients = ownedClients
  }

  /// Builds every part. Clusters with `runtime: local` are started fresh under `stateDir/local/NAME`, unless
  /// `hookups` names a running one for them; nothing runs until ``start()`` or ``services`` run.
  /// - Parameters:
  ///   - hookups: clusters the caller runs, by configured name.
  ///   - metrics: where the parts' metrics go (a registry of the engine's own by default).
  /// - Throws: ``EngineError`` naming the setting at fault (state directory, a cluster that cannot start, a
  ///   missing password variable, an unusable TLS file).
  public static func build(
    _ configuration: VigilConfiguration, hookups: [String: ClusterHookup] = [:],
    metrics: PrometheusMetrics = PrometheusMetrics(), logger: Logger = Logger(label: "vigil")
  ) async throws -> Engine {
    let store: HistoryStore
    if let postgres = configuration.history.postgres {
      do { store = try await HistoryStore(postgres: postgres, logger: logger) } catch {
        throw EngineError("history.postgres: cannot open the history store at \(postgres.redacted): \(error)")
      }
    } else {
      do { store = try HistoryStore(directory: configuration.stateDir) } catch {
        throw EngineError("stateDir: cannot open the history store in \"\(configuration.stateDir)\": \(error)")
      }
    }
    var started: [LocalCluster] = []
    var owned: [EtcdClient] = []
    var guarded: [GuardedCluster] = []
    var targets: [RepairTarget] = []
    var clusterBackups: [ClusterBackup] = []
    let backupStore: (any BackupStore)?
    do { backupStore = try BackupStores.make(configuration) } catch { throw EngineError("\(error)") }
    do {
      let backupMetrics = BackupMetrics(factory: metrics.factory)
      let verifications = VerificationSlots()
      for cluster in configuration.clusters {
        let part = try await connect(cluster, hookup: hookups[cluster.name], stateDir: configuration.stateDir, logger: logger)
        if let local = part.started { started.append(local) }
        if part.owned { owned.append(part.guarded.client) }
        var guardedCluster = part.guarded
        var backup: ClusterBackup?
        if let backupStore {
          let made = ClusterBackup(
            cluster: cluster.name, client: part.guarded.client, store: backupStore, stateDir: configuration.stateDir,
            settings: backupSettings(configuration, cluster), metrics: backupMetrics,
            audit: { entry in _ = try? await store.append(audit: entry) }, logger: logger, verifications: verifications)
          guardedCluster.backupVerifiedAt = { await made.verifiedAt }
          clusterBackups.append(made)
          backup = made
        }
        guarded.append(guardedCluster)
        targets.append(RepairTarget(config: cluster, client: part.guarded.client, runtime: part.runtime, backup: backup))
      }
      var mirrors: [StandbyMirror] = []
      for cluster in configuration.clusters {
        guard let standbyName = cluster.standby,
          let primary = guarded.first(where: { $0.name == cluster.name })?.client,
          let standby = guarded.first(where: { $0.name == standbyName })?.client
        else { continue }
        mirrors.append(
          StandbyMirror(
            cluster: cluster.name, standbyName: standbyName, primary: primary, standby: standby,
            settings: mirrorSettings(configuration), metrics: backupMetrics,
            audit: { entry in _ = try? await store.append(audit: entry) }, logger: logger))
        if let i = guarded.firstIndex(where: { $0.name == cluster.name }), let mirror = mirrors.last {
          guarded[i].standby = { await mirror.status }
          targets[i].mirror = mirror
        }
      }
      let inbox = ReportInbox(baseURL: "http://\(configuration.listen)/v1/reports/")
      let monitorMetrics = VigilMetrics(factory: metrics.factory) { metrics.exposition() }
      let monitor = try await Monitor(
        configuration: configuration, clusters: guarded, store: store, metrics: monitorMetrics, inbox: inbox,
        logger: logger)
      var restore = RestoreSettings()
      restore.leaseTTL = Int64(configuration.backup.restoreLeaseTTL.duration.seconds.rounded(.up))
      restore.revisionMargin = configuration.backup.revisionMargin
      restore.failoverDrainTimeout = configuration.standby.drainTimeout.duration
      let repairs = RepairCoordinator(
        watch: monitor, liveness: monitor.liveness, metrics: RepairMetrics(factory: metrics.factory),
        targets: targets, store: store, config: configuration.repair, stateDir: configuration.stateDir,
        restore: restore, logger: logger)
      return Engine(
        configuration: configuration, store: store, monitor: monitor, repairs: repairs,
        backups: Backups(clusterBackups, mirrors: mirrors), backupStore: backupStore, metrics: metrics, inbox: inbox,
        clients: guarded.map { ($0.name, $0.client) }, startedClusters: started, ownedClients: owned)
    } catch {
      await backupStore?.shutdown()
      for client in owned { await client.shutdown() }
      for local in started { await local.shutdown(graceful: true) }
      throw error
    }
  }

  /// The long-running parts as services of one service group: the monitor and the repair coordinator,
  /// each running until the group shuts down gracefully.
  public var services: [any Service] {
    [MonitorService(monitor: monitor), RepairService(repairs: repairs), BackupService(backups: backups)]
  }

  /// Starts the monitor, the repair coordinator and the backups without a service group (drills, tests,
  /// benchmarks).
  public func start(repairs startRepairs: Bool = true, backups startBackups: Bool = true) async {
    await monitor.start()
    if startRepairs { await repairs.start() }
    if startBackups { await backups.start() }
  }

  /// Stops the repair coordinator, the monitor and the backups (plans in flight stay `running` in the
  /// journal and resume at the next start).
  public func stop() async {
    await repairs.stop()
    await monitor.stop()
    await backups.stop()
  }

  static func mirrorSettings(_ configuration: VigilConfiguration) -> StandbyMirrorSettings {
    let c = configuration.standby
    var s = StandbyMirrorSettings()
    s.maxTxnOps = c.maxTxnOps
    s.heartbeatInterval = c.heartbeatInterval.duration
    s.revisionMargin = Int64(c.revisionMargin)
    s.leaseTTL = Int64(c.leaseTTL.duration.seconds.rounded(.up))
    return s
  }

  static func backupSettings(_ configuration: VigilConfiguration, _ cluster: ClusterConfig) -> ClusterBackupSettings {
    let b = configuration.backup
    var s = ClusterBackupSettings()
    let tier = configuration.tiers[cluster.tier] ?? TierConfig.defaults["P1"]!
    s.policy = b.policy(interval: tier.snapshotInterval)
    s.flushInterval = b.flushInterval.duration
    s.segmentSpan = b.segmentSpan.duration
    s.verify = b.verify
    s.leaseTTL = Int64(b.restoreLeaseTTL.duration.seconds.rounded(.up))
    return s
  }

  /// Stops everything, closes the engine's clients and stops the local clusters it started.
  public func shutdown() async {
    await stop()
    await backupStore?.shutdown()
    for client in ownedClients { await client.shutdown() }
    for local in startedClusters { await local.shutdown(graceful: true) }
  }

  /// A client for a configured cluster and its runtime driver; a local runtime's members are started
  /// first, fresh, under `stateDir/local/NAME`, unless a hookup names a running cluster.
  static func connect(
    _ cluster: ClusterConfig, hookup: ClusterHookup?, stateDir: String, logger: Logger
  ) async throws -> (guarded: GuardedCluster, runtime: (any MemberRuntime)?, started: LocalCluster?, owned: Bool) {
    var tls: EtcdTLSConfiguration?
    if let t = cluster.tls { tls = EtcdTLSConfiguration(caFile: t.ca, certificateFile: t.cert, keyFile: t.key) }
    var credentials: EtcdCredentials?
    if let auth = cluster.auth {
      guard let password = ProcessInfo.processInfo.environment[auth.passwordEnv] else {
        throw EngineError(
          "clusters[\(cluster.name)].auth.passwordEnv: environment variable \(auth.passwordEnv) is not set")
      }
      credentials = EtcdCredentials(username: auth.user, password: password)
    }
    func client(_ endpoints: [EtcdEndpoint]) throws -> EtcdClient {
      do {
        return try EtcdClient(
          configuration: EtcdClientConfiguration(endpoints: endpoints, tls: tls, credentials: credentials),
          logger: logger)
      } catch {
        throw EngineError("clusters[\(cluster.name)]: \(error)")
      }
    }
    if let hookup, let local = hookup.local {
      let endpoints = await local.endpoints
      let c = try hookup.client ?? client(endpoints)
      var guarded = GuardedCluster(config: cluster, client: c, quotaBytes: local.options.quotaBackendBytes) { member in
        try? await local.member(member).dataDir
      }
      guarded.logSource = logSource(cluster, local: local)
      guarded.memberArguments = { name in await local.arguments(of: name) }
      return (guarded, LocalRuntime(cluster: local), nil, hookup.client == nil)
    }
    switch cluster.runtime {
    case .external:
      let c = try hookup?.client ?? client(try parsedEndpoints(cluster))
      var guarded = GuardedCluster(config: cluster, client: c)
      guarded.logSource = logSource(cluster, local: nil)
      return (guarded, nil, nil, hookup?.client == nil)
    case .exec(let exec):
      let c = try hookup?.client ?? client(try parsedEndpoints(cluster))
      let runtime = ExecRuntime(cluster: cluster.name, config: exec)
      var guarded = GuardedCluster(config: cluster, client: c, quotaBytes: cluster.quotaBytes) { member in
        runtime.dataDir(of: member)
      }
      guarded.logSource = logSource(cluster, local: nil)
      if !exec.arguments.isEmpty { guarded.memberArguments = { name in try? await runtime.arguments(of: name) } }
      return (guarded, runtime, nil, hookup?.client == nil)
    case .local(let members):
      let dir = (stateDir as NSString).appendingPathComponent("local/\(cluster.name)")
      try? FileManager.default.removeItem(atPath: dir)
      var options = LocalClusterOptions(members: members, directory: dir)
      options.quotaBackendBytes = cluster.quotaBytes
      let local: LocalCluster
      do { local = try await LocalCluster.start(options, logger: logger) } catch {
        throw EngineError("clusters[\(cluster.name)]: cannot start the local cluster: \(error)")
      }
      do {
        let endpoints = await local.endpoints
        let c = try client(endpoints)
        var guarded = GuardedCluster(config: cluster, client: c, quotaBytes: cluster.quotaBytes) { member in
          try? await local.member(member).dataDir
        }
        guarded.logSource = logSource(cluster, local: local)
        guarded.memberArguments = { name in await local.arguments(of: name) }
        return (guarded, LocalRuntime(cluster: local), local, true)
      } catch {
        await local.shutdown(graceful: true)
        throw error
      }
    }
  }

  /// Where the members' logs of `cluster` are read: its `logs` setting, else its runtime's (a local cluster's
  /// captured logs, the exec runtime's `logs` command); nil when nowhere.
  static func logSource(_ cluster: ClusterConfig, local: LocalCluster?) -> (@Sendable (String) async -> MemberLogSource?)? {
    func command(_ list: [String]) -> @Sendable (String) async -> MemberLogSource? {
      let clusterName = cluster.name
      return { name in
        .command(
          list.map { $0.replacingOccurrences(of: "{name}", with: name) },
          environment: ["VIGIL_CLUSTER": clusterName, "VIGIL_MEMBER_NAME": name])
      }
    }
    switch cluster.logs {
    case .file(let pattern)?: return { name in .file(pattern.replacingOccurrences(of: "{name}", with: name)) }
    case .command(let list)?: return command(list)
    case nil: break
    }
    if let local { return { name in (try? await local.member(name)).map { .file($0.logFile) } } }
    if case .exec(let exec) = cluster.runtime, !exec.logs.isEmpty { return command(exec.logs) }
    return nil
  }

  static func parsedEndpoints(_ cluster: ClusterConfig) throws -> [EtcdEndpoint] {
    do { return try cluster.endpoints.map { e throws(EndpointError) in try EtcdEndpoint(parsing: e) } } catch {
      throw EngineError("clusters[\(cluster.name)].endpoints: \(error)")
    }
  }
}

/// Runs the repair coordinator's loop and plans, as children of this service's task, until the service group
/// shuts down (plans cut off resume at the next start).
struct RepairService: Service {
  let repairs: RepairCoordinator

  func run() async throws {
    try await cancelWhenGracefulShutdown { await repairs.run() }
  }
}

/// Runs every cluster's backups, as children of this service's task, until the service group shuts down.
struct BackupService: Service {
  let backups: Backups

  func run() async throws {
    try await cancelWhenGracefulShutdown { await backups.run() }
  }
}

/// Runs the monitor's loops, as children of this service's task, until the service group shuts down.
struct MonitorService: Service {
  let monitor: Monitor

  func run() async throws {
    // Graceful shutdown cancels the loops; the monitor then writes what is pending before returning.
    try await cancelWhenGracefulShutdown { await monitor.run() }
  }
}
