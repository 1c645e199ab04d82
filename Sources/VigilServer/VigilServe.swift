import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import VigilConfig
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
    let engine: Engine
    do { engine = try await Engine.build(configuration, metrics: metrics, logger: logger) } catch let error as EngineError {
      throw ServeError(description: error.description)
    }
    let monitor = engine.monitor
    let repairs = engine.repairs
    let inbox = engine.inbox
    let clusterList = engine.clients.map { ($0.name, $0.client.endpoints.map(\.description).joined(separator: ",")) }
    let listening = NIOLockedValueBox(false)
    let app = Application(
      router: HTTPAPI.router(monitor: monitor, repairs: repairs, inbox: inbox, metrics: metrics),
      configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "vigil"),
      onServerRunning: { channel in
        listening.withLockedValue { $0 = true }
        let port = channel.localAddress?.port ?? listen.port
        let url = "http://\(listen.host):\(port)"
        inbox.baseURL = url + "/v1/reports/"
        await onReady(
          ServeInfo(
            url: url, stateDir: configuration.stateDir, database: engine.store.path, clusters: clusterList,
            repairs: repairs),
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
    let services: [any Service] = engine.services + [app, watchdog, endpointsFile]
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
        gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
        logger: logger))
    do {
      try await group.run()
    } catch {
      await engine.shutdown()
      throw error
    }
    await engine.shutdown()
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
