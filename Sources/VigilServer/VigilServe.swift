import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import VigilConfig
import VigilCore
import VigilEtcd
import VigilLocal
import VigilMonitor
import VigilProbes
import VigilRepair
import VigilStore

/// Where a running `vigil serve` can be reached.
public struct ServeInfo: Sendable {
  /// `http://host:port` of the API.
  public var url: String
  public var stateDir: String
  public var database: String
  /// Each cluster's client endpoints (a local runtime's are picked at start).
  public var clusters: [(name: String, endpoints: String)]
  public var repairs: RepairCoordinator
}

public struct ServeError: Error, CustomStringConvertible {
  public var description: String
}

/// How `vigil serve` reports its own liveness.
public struct ServeSupervision: Sendable {
  /// systemd's notify socket (default: from `NOTIFY_SOCKET`/`WATCHDOG_USEC`); nil: no systemd.
  public var notifier: SystemdNotifier?
  /// What the internal watchdog does once loops have been stalled past `watchdog.stallAfter`
  /// (default: exit with status 70 so a supervisor restarts Vigil).
  public var giveUp: @Sendable ([StalledLoop]) -> Void

  public init(notifier: SystemdNotifier? = nil, giveUp: @escaping @Sendable ([StalledLoop]) -> Void = ServeSupervision.exitProcess) {
    self.notifier = notifier
    self.giveUp = giveUp
  }

  /// The default way to give up: exit non-zero (70, EX_SOFTWARE) so a supervisor restarts Vigil;
  /// journaled plans resume at the next start.
  public static let exitProcess: @Sendable ([StalledLoop]) -> Void = { _ in exit(70) }

  /// systemd's settings from the environment.
  /// - Throws: ``ServeError`` naming `NOTIFY_SOCKET` or `WATCHDOG_USEC` when one is malformed.
  public static func fromEnvironment() throws -> ServeSupervision {
    do { return ServeSupervision(notifier: try SystemdNotifier.fromEnvironment()) } catch {
      throw ServeError(description: error.description)
    }
  }
}

/// `vigil serve`: starts the clusters Vigil runs itself, then the monitor
/// and the HTTP API as services of one service group, which stops them
/// gracefully on SIGTERM/SIGINT (or when the calling task is cancelled).
public enum VigilServe {
  public static func run(
    configuration: VigilConfiguration, logger: Logger = Logger(label: "vigil"), handleSignals: Bool = true,
    supervision: ServeSupervision? = nil,
    onReady: @escaping @Sendable (ServeInfo, Monitor) async -> Void = { _, _ in }
  ) async throws {
    let listen = try parseListen(configuration.listen)
    let supervision = try supervision ?? ServeSupervision.fromEnvironment()
    let store: HistoryStore
    do { store = try HistoryStore(directory: configuration.stateDir) } catch {
      throw ServeError(description: "stateDir: cannot open the history store in \"\(configuration.stateDir)\": \(error)")
    }
    var locals: [LocalCluster] = []
    var guarded: [GuardedCluster] = []
    var repairTargets: [RepairTarget] = []
    do {
      for cluster in configuration.clusters {
        let (g, runtime) = try await connect(cluster, stateDir: configuration.stateDir, logger: logger) {
          locals.append($0)
        }
        guarded.append(g)
        repairTargets.append(RepairTarget(config: cluster, client: g.client, runtime: runtime))
      }
    } catch {
      for l in locals { await l.shutdown(graceful: true) }
      throw error
    }
    let inbox = ReportInbox(baseURL: "http://\(configuration.listen)/v1/reports/")
    let monitor = try Monitor(
      configuration: configuration, clusters: guarded, store: store, inbox: inbox, logger: logger)
    let repairs = RepairCoordinator(
      monitor: monitor, targets: repairTargets, store: store, config: configuration.repair,
      stateDir: configuration.stateDir, logger: logger)
    let clusterList = zip(configuration.clusters, guarded).map {
      ($0.name, $1.client.endpoints.map(\.description).joined(separator: ","))
    }
    let listening = NIOLockedValueBox(false)
    let app = Application(
      router: HTTPAPI.router(monitor: monitor, repairs: repairs, inbox: inbox),
      configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "vigil"),
      onServerRunning: { channel in
        listening.withLockedValue { $0 = true }
        let port = channel.localAddress?.port ?? listen.port
        let url = "http://\(listen.host):\(port)"
        inbox.baseURL = url + "/v1/reports/"
        await onReady(
          ServeInfo(
            url: url, stateDir: configuration.stateDir, database: store.path, clusters: clusterList, repairs: repairs),
          monitor)
      },
      logger: logger)
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: [
          .init(service: MonitorService(monitor: monitor)), .init(service: RepairService(repairs: repairs)),
          .init(service: app),
          .init(
            service: WatchdogService(
              liveness: monitor.liveness, notifier: supervision.notifier,
              started: {
                let monitoring = await monitor.isStarted
                let repairing = await repairs.isStarted
                return monitoring && repairing && listening.withLockedValue { $0 }
              },
              giveUp: supervision.giveUp, logger: logger)),
        ],
        gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
        logger: logger))
    do {
      try await group.run()
    } catch {
      await finish(monitor: monitor, repairs: repairs, locals: locals, clusters: guarded)
      throw error
    }
    await finish(monitor: monitor, repairs: repairs, locals: locals, clusters: guarded)
  }

  static func finish(monitor: Monitor, repairs: RepairCoordinator, locals: [LocalCluster], clusters: [GuardedCluster])
    async
  {
    await repairs.stop()
    await monitor.stop()
    for c in clusters { await c.client.shutdown() }
    for l in locals { await l.shutdown(graceful: true) }
  }

  static func parseListen(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
      throw ServeError(description: "listen: \"\(text)\" is not host:port")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
  }

  /// A client for a configured cluster and its runtime driver; a local runtime's members are started
  /// first, fresh, under `stateDir/local/NAME`.
  static func connect(
    _ cluster: ClusterConfig, stateDir: String, logger: Logger, started: (LocalCluster) -> Void
  ) async throws -> (GuardedCluster, (any MemberRuntime)?) {
    var tls: EtcdTLSConfiguration?
    if let t = cluster.tls { tls = EtcdTLSConfiguration(caFile: t.ca, certificateFile: t.cert, keyFile: t.key) }
    var credentials: EtcdCredentials?
    if let auth = cluster.auth {
      guard let password = ProcessInfo.processInfo.environment[auth.passwordEnv] else {
        throw ServeError(
          description:
            "clusters[\(cluster.name)].auth.passwordEnv: environment variable \(auth.passwordEnv) is not set")
      }
      credentials = EtcdCredentials(username: auth.user, password: password)
    }
    switch cluster.runtime {
    case .external:
      let endpoints = try cluster.endpoints.map { e throws(EtcdError) in try EtcdEndpoint(parsing: e) }
      let client = try EtcdClient(
        configuration: EtcdClientConfiguration(endpoints: endpoints, tls: tls, credentials: credentials), logger: logger)
      return (GuardedCluster(config: cluster, client: client), nil)
    case .exec(let exec):
      let endpoints = try cluster.endpoints.map { e throws(EtcdError) in try EtcdEndpoint(parsing: e) }
      let client = try EtcdClient(
        configuration: EtcdClientConfiguration(endpoints: endpoints, tls: tls, credentials: credentials), logger: logger)
      let runtime = ExecRuntime(cluster: cluster.name, config: exec)
      let guarded = GuardedCluster(config: cluster, client: client, quotaBytes: cluster.quotaBytes) { member in
        runtime.dataDir(of: member)
      }
      return (guarded, runtime)
    case .local(let members):
      let dir = (stateDir as NSString).appendingPathComponent("local/\(cluster.name)")
      try? FileManager.default.removeItem(atPath: dir)
      var options = LocalClusterOptions(members: members, directory: dir)
      options.quotaBackendBytes = cluster.quotaBytes
      let local: LocalCluster
      do { local = try await LocalCluster.start(options, logger: logger) } catch {
        throw ServeError(description: "clusters[\(cluster.name)]: cannot start the local cluster: \(error)")
      }
      started(local)
      let endpoints = await local.endpoints
      let client = try EtcdClient(
        configuration: EtcdClientConfiguration(endpoints: endpoints, tls: tls, credentials: credentials), logger: logger)
      let guarded = GuardedCluster(config: cluster, client: client, quotaBytes: cluster.quotaBytes) { member in
        try? await local.member(member).dataDir
      }
      return (guarded, LocalRuntime(cluster: local))
    }
  }
}

/// Runs the repair coordinator until the service group shuts down (plans in flight resume at the next start).
struct RepairService: Service {
  let repairs: RepairCoordinator

  func run() async throws {
    await repairs.start()
    try? await gracefulShutdown()
    await repairs.stop()
  }
}

/// Runs the monitor until the service group shuts down.
struct MonitorService: Service {
  let monitor: Monitor

  func run() async throws {
    await monitor.start()
    try? await gracefulShutdown()
    await monitor.stop()
  }
}
