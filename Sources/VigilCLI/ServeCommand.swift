import ArgumentParser
import CoreMetrics
import Foundation
import Logging
import VigilConfig
import VigilEngine
import VigilServer

/// `vigil serve --config FILE`: probes, inspections, detector, incidents, history, `/metrics`, `/status`.
struct ServeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Guard the clusters of a configuration: probe, inspect, detect, record; serve /metrics and /status.",
    discussion: "Refuses to start on an invalid file (every problem is printed). SIGTERM or SIGINT stops it gracefully."
  )

  @Option(help: "The configuration file (vigil.yaml).")
  var config: String

  @Flag(help: "Stop when the process that started vigil exits.")
  var stopWithParent = false

  func run() async throws {
    let configuration: VigilConfiguration
    do { configuration = try ConfigLoader.load(file: config) } catch {
      for problem in error.problems { FileHandle.standardError.write(Data("\(config): \(problem)\n".utf8)) }
      throw CLIError("\(config): \(error.problems.count) problem(s); not starting")
    }
    try await Self.serve(configuration, stopWithParent: stopWithParent, banner: nil)
  }

  /// Runs `vigil serve` on a configuration; prints where to look once it listens.
  static func serve(_ configuration: VigilConfiguration, stopWithParent: Bool, banner: (@Sendable (ServeInfo) -> String)?)
    async throws
  {
    var logger = Logger(label: "vigil")
    logger.logLevel = .info
    let log = logger
    // The process's metrics system is the registry `/metrics` renders: Vigil's and any library's metrics.
    let metrics = PrometheusMetrics()
    MetricsSystem.bootstrap(metrics.factory)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        do {
          try await VigilServe.run(configuration: configuration, metrics: metrics, logger: log) { info, _ in
            var lines = [
              "vigil: serving \(info.url)  (GET /status, GET /metrics, GET /healthz, GET /v1/incidents, GET /v1/repairs)"
            ]
            lines.append("  history: \(info.database)")
            for c in info.clusters { lines.append("  cluster \(c.name): \(c.endpoints)") }
            if let banner { lines.append(banner(info)) }
            print(lines.joined(separator: "\n"))
            fflush(nil)
          }
        } catch let error as ServeError {
          throw CLIError(error.description)
        }
      }
      if stopWithParent {
        group.addTask {
          let parent = getppid()
          while !Task.isCancelled && getppid() == parent { try? await Task.sleep(for: .milliseconds(200)) }
          if !Task.isCancelled { throw CancellationError() }
        }
      }
      do {
        try await group.next()
      } catch is CancellationError {
        // The parent went away.
      }
      group.cancelAll()
    }
  }
}

/// `vigil demo`: a local 3-member cluster and its 3-member standby under `vigil serve` with a built-in
/// configuration.
struct DemoCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Start a local 3-member etcd cluster and its standby under vigil serve (built-in configuration) and print where to look."
  )

  @Option(help: "State directory (history, the cluster's data); default: ./vigil-demo.")
  var dir: String = "./vigil-demo"

  @Option(help: "HTTP address for /status and /metrics.")
  var listen: String = "127.0.0.1:9464"

  @Option(help: "SLA tier of the demo cluster (P0 probes every 200 ms).")
  var tier: String = "P0"

  @Flag(help: "Stop when the process that started vigil exits.")
  var stopWithParent = false

  static func yaml(dir: String, listen: String, tier: String) -> String {
    """
    stateDir: \(dir)
    listen: \(listen)
    repair: {restoreMode: auto, quorumLossAction: restore}
    clusters:
      - name: demo
        runtime: {kind: local, members: 3}
        tier: \(tier)
        probeSuites: [etcd]
        standby: demo-dr
      - name: demo-dr
        runtime: {kind: local, members: 3}
        tier: \(tier)
        probeSuites: [etcd]
    probeSuites:
      - name: etcd
        probes:
          - kind: etcd.kv
          - kind: etcd.watch
            perMember: false
          - kind: etcd.member
    """
  }

  func run() async throws {
    let text = Self.yaml(dir: dir, listen: listen, tier: tier)
    let configuration: VigilConfiguration
    do { configuration = try ConfigLoader.parse(text, file: "built-in demo configuration") } catch {
      throw CLIError(error.problems.map(\.description).joined(separator: "; "), exitCode: 64)
    }
    try await ServeCommand.serve(configuration, stopWithParent: stopWithParent) { info in
      let pidFile = "\(configuration.stateDir)/local/demo/m2/etcd.pid"
      return """

        Try it (in another terminal):
          vigil status --server \(info.url)            # health of the cluster and each member, open incidents
          curl -s \(info.url)/metrics | grep vigil_health_state
          kill -9 "$(cat \(pidFile))"                  # crash member m2: detected, diagnosed "crashed", restarted
          vigil incidents --server \(info.url)         # incidents with MTTD and MTTR (--id N for the timeline)
          vigil repair list --server \(info.url)       # repair plans and their journaled steps
          vigil audit --server \(info.url)             # who did what, why, with what result
          vigil backup list --dir \(configuration.stateDir)/backups   # snapshots (each verified by a real restore), change log
          vigil inspect --server \(info.url)           # directed inspections (quota, alarms, hashes, learners, …)
          vigil probe run etcd.kv --server \(info.url) # one probe, now, with each step's latency
          vigil proxy --cluster demo --listen 127.0.0.1:23790 --server \(info.url) &   # clients connect here
          etcdctl --endpoints=127.0.0.1:23790 put /hello world                   # ... and reach demo's members
          vigil failover --cluster demo --server \(info.url)   # fence demo, promote its standby demo-dr; the proxy follows
          vigil failback --cluster demo --server \(info.url)   # and back, once demo is rebuilt as demo-dr's standby
        Ctrl-C stops Vigil and the clusters.
        """
    }
  }
}
