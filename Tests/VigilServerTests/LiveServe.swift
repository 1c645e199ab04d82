import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VigilAPI
import VigilConfig
import VigilMonitor
import VigilRuntime
import VigilServer
import VigilTestKit

/// A `vigil serve` in the test's process, on a real cluster, for the server tests; and requests to it whose
/// every answer is checked against the OpenAPI document (a status, media type or body the document does not
/// promise is recorded as a test issue).
enum LiveServe {
  /// The server tests' configuration: the test's cluster as `c`, probed by `etcd.kv` and `etcd.member` every
  /// `probeInterval`, backups off, on `listen`; `extra` adds top-level settings (repair, alerts, api, …).
  static func configuration(
    _ cluster: LocalCluster, dir: String, listen: String = "127.0.0.1:0", probeInterval: String = "200ms",
    probeTimeout: String = "500ms", extra: String = ""
  ) async throws -> VigilConfiguration {
    try ConfigLoader.parse(
      """
      stateDir: \(dir)/state
      listen: \(listen)
      backup: {enabled: false}
      tiers:
        fast: {probeInterval: \(probeInterval), probeTimeout: \(probeTimeout)}
      clusters:
        - name: c
          endpoints: [\(await cluster.endpoints.map(\.description).joined(separator: ", "))]
          tier: fast
          probeSuites: [s]
      probeSuites:
        - name: s
          probes: [{kind: etcd.kv}, {kind: etcd.member}]
      \(extra)
      """)
  }

  /// Runs `vigil serve` on `configuration` until `body` returns; `body` gets its URL and monitor.
  static func run(
    _ configuration: VigilConfiguration, supervision: ServeSupervision = ServeSupervision(),
    _ body: (_ url: String, _ monitor: Monitor) async throws -> Void
  ) async throws {
    try await serve(configuration, supervision: supervision) { info, monitor in try await body(info.url, monitor) }
  }

  /// Runs `vigil serve` on `configuration` until `body` returns; `body` gets what serve says of itself.
  static func serve(
    _ configuration: VigilConfiguration, supervision: ServeSupervision = ServeSupervision(),
    _ body: (_ info: ServeInfo, _ monitor: Monitor) async throws -> Void
  ) async throws {
    let (started, ready) = AsyncStream<(ServeInfo, Monitor)>.makeStream()
    let server = Task {
      // Ends the stream however serve ends, so a failed start is reported instead of awaited forever.
      defer { ready.finish() }
      try await VigilServe.run(configuration: configuration, handleSignals: false, supervision: supervision) {
        info, monitor in ready.yield((info, monitor))
      }
    }
    var iterator = started.makeAsyncIterator()
    guard let (info, monitor) = await iterator.next() else {
      if case .failure(let error) = await server.result { throw error }
      throw TestTimeout("vigil serve ended before it served")
    }
    do { try await body(info, monitor) } catch {
      server.cancel()
      _ = await server.result
      throw error
    }
    server.cancel()
    _ = await server.result
  }

  /// One request on a connection of its own; the status, the body and the headers. The answer is checked
  /// against the OpenAPI document.
  static func send(
    _ method: HTTPMethod, _ url: String, token: String? = nil, body: String? = nil, http: HTTPClient = APIClient.http,
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws -> (status: Int, body: String, headers: HTTPHeaders) {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(name: "Connection", value: "close")
    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    if let body {
      request.headers.add(name: "Content-Type", value: "application/json")
      request.body = .bytes(ByteBuffer(string: body))
    }
    let response = try await http.execute(request, timeout: .seconds(60))
    let bytes = try await response.body.collect(upTo: 16 << 20)
    let status = Int(response.status.code)
    let path = URLComponents(string: url)?.percentEncodedPath ?? url
    for problem in try OpenAPIContract().problems(
      method: method.rawValue, path: path, status: status, contentType: response.headers.first(name: "Content-Type"),
      body: Data(bytes.readableBytesView))
    {
      Issue.record("the answer breaks the OpenAPI document: \(problem)", sourceLocation: sourceLocation)
    }
    return (status, String(buffer: bytes), response.headers)
  }
}
