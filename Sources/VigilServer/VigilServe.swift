import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import VigilAPI
import VigilConfig
import VigilCoordination
import VigilCore
import VigilEngine
import VigilEtcd
import VigilRuntime
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
  /// The routes the HTTP router registered, as `METHOD /path` (`:name` for a path parameter).
  public var routes: [String] = []
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
    configuration: VigilConfiguration, metrics: PrometheusMetrics = PrometheusMetrics(),
    logger: Logger = Logger(label: "vigil"), handleSignals: Bool = true,
    supervision: ServeSupervision? = nil,
    onReady: @escaping @Sendable (ServeInfo, Monitor) async -> Void = { _, _ in }
  ) async throws {
    let listen = try parseListen(configuration.listen)
    let supervision = try supervision ?? ServeSupervision.fromEnvironment()
    let server = try serverBuilder(configuration.api)
    let engine: Engine
    do { engine = try await Engine.build(configuration, metrics: metrics, logger: logger) } catch let error as EngineError {
      throw ServeError(description: error.description)
    }
    let loopback = isLoopback(listen.host)
    if !loopback, ((try? await engine.store.tokenCount()) ?? 0) == 0 {
      await engine.shutdown()
      throw ServeError(
        description:
          "listen: \(configuration.listen) is not a loopback address and no API token exists: anyone who reaches it could approve repairs or fail over; make one first (vigil token create --config FILE --role admin --name NAME) or listen on 127.0.0.1"
      )
    }
    let access = HTTPAPI.Access(
      publicMetrics: configuration.api.publicMetrics, requireTokens: configuration.api.requireTokens || !loopback)
    let monitor = engine.monitor
    let repairs = engine.repairs
    let inbox = engine.inbox
    let coordination: (coordinator: ReplicaCoordinator, client: EtcdClient)?
    do { coordination = try await coordinate(configuration, engine: engine, logger: logger) } catch {
      await engine.shutdown()
      throw error
    }
    let clusterList = engine.clients.map { ($0.name, $0.client.endpoints.map(\.description).joined(separator: ",")) }
    let listening = NIOLockedValueBox(false)
    let router = HTTPAPI.router(
      monitor: monitor, repairs: repairs, inbox: inbox, metrics: metrics, access: access,
      drills: DrillReports(root: configuration.api.drillReports), coordinator: coordination?.coordinator)
    let routes = router.routes.map { "\($0.method) \($0.path)" }
    let app = Application(
      router: router,
      server: server,
      configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "vigil"),
      onServerRunning: { channel in
        listening.withLockedValue { $0 = true }
        let port = channel.localAddress?.port ?? listen.port
        let host = listen.host.contains(":") ? "[\(listen.host)]" : listen.host
        let url = "\(configuration.api.tls == nil ? "http" : "https")://\(host):\(port)"
        inbox.baseURL = url + "/v1/reports/"
        await onReady(
          ServeInfo(
            url: url, stateDir: configuration.stateDir, database: engine.store.path, clusters: clusterList,
            repairs: repairs, routes: routes),
          monitor)
      },
      logger: logger)
    let watchdog = WatchdogService(
      liveness: monitor.liveness, notifier: supervision.notifier,
      started: {
        let monitoring = await monitor.isStarted
        let repairing = await repairs.isStarted
        return monitoring && repairing && listening.withLockedValue { $0 }
      },
      giveUp: supervision.giveUp, logger: logger)
    let endpointsFile = EndpointsFileService(
      path: configuration.standby.endpointsFile ?? (configuration.stateDir as NSString).appendingPathComponent("endpoints.json"),
      monitor: monitor, repairs: repairs, logger: logger)
    var services: [any Service] = engine.services + [app, watchdog, endpointsFile]
    if let coordination { services.append(CoordinationService(coordinator: coordination.coordinator)) }
    if !configuration.alerts.receivers.isEmpty {
      var dispatcher = AlertDispatcher(
        config: configuration.alerts, monitor: monitor, repairs: repairs, http: APIClient.http, logger: logger)
      if let coordinator = coordination?.coordinator { dispatcher.owns = { await coordinator.owns($0) } }
      services.append(dispatcher)
    }
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
        gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
        logger: logger))
    do {
      try await group.run()
    } catch {
      await engine.shutdown()
      await coordination?.client.shutdown()
      throw error
    }
    await engine.shutdown()
    await coordination?.client.shutdown()
  }

  /// HTTP, or HTTPS with the configured certificate (and client certificates checked against `clientCA`).
  static func serverBuilder(_ api: APIConfig) throws -> HTTPServerBuilder {
    guard let tls = api.tls else { return .http1() }
    do {
      let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
      var settings = TLSConfiguration.makeServerConfiguration(
        certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
      if let ca = tls.clientCA {
        settings.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        settings.certificateVerification = .noHostnameVerification
      }
      return try .tls(.http1(), tlsConfiguration: settings)
    } catch {
      throw ServeError(description: "api.tls: cannot load \(tls.certificate) / \(tls.key)\(tls.clientCA.map { " / \($0)" } ?? ""): \(error)")
    }
  }

  /// Whether an address to listen on is reachable from this machine only.
  static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }

  static func parseListen(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
      throw ServeError(description: "listen: \"\(text)\" is not host:port")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
  }
}
