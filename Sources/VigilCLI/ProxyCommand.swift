import ArgumentParser
import Foundation
import Logging
import VigilAPI
import VigilConfig
import VigilProxy

/// `vigil proxy`: clients connect here and reach the healthy members of the cluster's active side.
struct ProxyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "proxy",
    abstract: "An L4 TCP proxy to the healthy members of a cluster's active side, following failovers.",
    discussion: """
      Asks a running vigil serve every --refresh for the cluster's published endpoints \
      (GET /v1/clusters/NAME/endpoints) and relays each new client connection to one of them, round robin. \
      When the active side changes (a failover) or a member drops out, connections to members no longer \
      published are closed, so clients reconnect to the new ones. While vigil serve cannot be reached, or \
      publishes no member (just started, or every member of the side down), the \
      last endpoints are kept. TLS and gRPC pass through untouched (etcdctl and the Go client work as they are).
      """)
  @Option(help: "The cluster (a pair's primary name follows the pair).") var cluster: String
  @Option(help: "Where clients connect (host:port).") var listen: String = "127.0.0.1:23790"
  @Option(help: "How often to ask for the endpoints (e.g. 500ms).") var refresh: String = "500ms"
  @OptionGroup var server: ServerOptions

  func run() async throws {
    guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port)
    else { throw CLIError("--listen: \"\(listen)\" is not host:port (e.g. 127.0.0.1:23790)", exitCode: 64) }
    guard let interval = ConfigDuration(parsing: refresh)?.duration, interval >= .milliseconds(50), interval <= .seconds(60)
    else {
      throw CLIError("--refresh: \"\(refresh)\" is not a duration from 50ms to 60s (e.g. 500ms)", exitCode: 64)
    }
    let api = try server.client()
    let logger = Logger(label: "vigil.proxy")
    let proxy = TCPProxy(logger: logger)
    do { try await proxy.start(host: String(listen[..<colon]), port: port) } catch {
      throw CLIError("--listen: cannot listen on \(listen): \(error)")
    }
    let bound = proxy.localAddress?.port.map { "\(listen[..<colon]):\($0)" } ?? listen
    Self.say("vigil proxy: \(cluster) on \(bound), endpoints from \(api.baseURL)")
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        await proxy.follow(every: interval) {
          let published = try await api.endpoints(cluster: cluster)
          return (published.active, published.endpoints.compactMap(TCPProxy.Backend.init(url:)))
        } changed: { active, backends in
          Self.say("vigil proxy: \(cluster) served by \(active): \(backends.map(\.description).joined(separator: ", "))")
        }
      }
      group.addTask { for await _ in SignalWaiter.signals() { return } }
      await group.next()
      group.cancelAll()
    }
    await proxy.stop()
  }

  /// One line to standard output at once (unbuffered: a change of endpoints shows in a log file or a pipe).
  static func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
  }
}
