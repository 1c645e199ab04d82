import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VigilAPI
import VigilConfig
import VigilCore
import VigilMonitor
import VigilRuntime
import VigilServer
import VigilStore
import VigilTestKit

/// The API's tokens and roles against a live `vigil serve` on a real cluster: every route of the table walked
/// without a token, with a wrong one and with each role; the audit naming the token's subject; the refusal to
/// listen beyond loopback without tokens; HTTPS.
@Suite("API tokens, roles and TLS", .serialized)
struct APIAuthTests {
  func configuration(_ cluster: LocalCluster, dir: String, listen: String = "127.0.0.1:0", extra: String = "")
    async throws -> VigilConfiguration
  {
    try ConfigLoader.parse(
      """
      stateDir: \(dir)/state
      listen: \(listen)
      backup: {enabled: false}
      \(extra)
      clusters:
        - name: c
          endpoints: [\(await cluster.endpoints.map(\.description).joined(separator: ", "))]
          probeSuites: [s]
      probeSuites:
        - name: s
          probes:
            - kind: etcd.kv
      """)
  }

  func withServe(_ configuration: VigilConfiguration, _ body: (_ url: String, _ monitor: Monitor) async throws -> Void)
    async throws
  {
    let (started, ready) = AsyncStream<(String, Monitor)>.makeStream()
    let server = Task {
      defer { ready.finish() }
      try await VigilServe.run(configuration: configuration, handleSignals: false, supervision: ServeSupervision()) {
        info, monitor in ready.yield((info.url, monitor))
      }
    }
    var iterator = started.makeAsyncIterator()
    guard let (url, monitor) = await iterator.next() else {
      if case .failure(let error) = await server.result { throw error }
      throw TestTimeout("vigil serve ended before it served")
    }
    do { try await body(url, monitor) } catch {
      server.cancel()
      _ = await server.result
      throw error
    }
    server.cancel()
    _ = await server.result
  }

  /// One request; the status and the body.
  func send(_ method: HTTPMethod, _ url: String, token: String? = nil, body: String? = nil, http: HTTPClient = APIClient.http)
    async throws -> (status: Int, body: String, headers: HTTPHeaders)
  {
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
    return (Int(response.status.code), String(buffer: bytes), response.headers)
  }

  /// A route's pattern filled in (a plan number that does not exist, the cluster, a token name).
  static func concrete(_ path: String) -> String {
    path == "/v1/events"
      ? path + "?once=true"
      : path.replacingOccurrences(of: ":id", with: "999999").replacingOccurrences(of: ":name", with: "c")
        .replacingOccurrences(of: ":token", with: "no-such-report")
  }

  @Test func everyRouteRefusesCallersWithoutTheRoleItNeeds() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let config = try await configuration(cluster, dir: dir)
        try await withServe(config) { url, monitor in
          // No token yet, on loopback: open, as before tokens.
          #expect(try await send(.GET, url + "/status").status == 200)
          var tokens: [APIRole: String] = [:]
          for role in APIRole.allCases {
            tokens[role] = try await TokenMaker.make(name: "t-\(role.rawValue)", role: role.rawValue, by: "test", store: monitor.store).token
          }
          let policy = APIAccessPolicy(routes: HTTPAPI.routes)
          for route in HTTPAPI.routes {
            let requirement = policy.requirement(method: route.method, path: String(Self.concrete(route.path).split(separator: "?")[0]))
            let method = HTTPMethod(rawValue: route.method)
            let target = url + Self.concrete(route.path)
            let body: String? = route.method == "GET" ? nil : "{}"
            let anonymous = try await send(method, target, body: body)
            let wrong = try await send(method, target, token: "vigil_" + String(repeating: "0", count: 64), body: body)
            if requirement == .none {
              #expect(anonymous.status != 401 && anonymous.status != 403, "\(route.method) \(route.path)")
              continue
            }
            #expect(anonymous.status == 401, "\(route.method) \(route.path): \(anonymous.status)")
            #expect(anonymous.headers.first(name: "WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(anonymous.body.contains("\"error\""))
            #expect(wrong.status == 401, "\(route.method) \(route.path) with an unknown token: \(wrong.status)")
            for role in APIRole.allCases {
              let answer = try await send(method, target, token: tokens[role], body: body)
              if role.allows(requirement) {
                #expect(answer.status != 401 && answer.status != 403, "\(role) \(route.method) \(route.path): \(answer.status)")
              } else {
                #expect(answer.status == 403, "\(role) \(route.method) \(route.path): \(answer.status) \(answer.body)")
                #expect(answer.body.contains(role.rawValue) && !answer.body.contains(tokens[role]!))
              }
            }
          }
          // The metrics stay public; the gate answers a ci token and nothing else does.
          #expect(try await send(.GET, url + "/metrics").status == 200)
          let gate = try await send(.GET, url + "/v1/clusters/c/gate", token: tokens[.ci])
          #expect(gate.status == 200 || gate.status == 409)
          #expect(gate.body.contains("\"decision\""))
          #expect(try await send(.GET, url + "/status", token: tokens[.ci]).status == 403)
        }
      }
    }
  }

  @Test func theAuditNamesTheTokensSubjectNotTheOperatorField() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let config = try await configuration(cluster, dir: dir, extra: "api: {requireTokens: true}")
        try await withServe(config) { url, monitor in
          // Tokens required though none exists yet: refused.
          #expect(try await send(.GET, url + "/status").status == 401)
          let made = try await TokenMaker.make(name: "ana", role: "operator", by: "test", store: monitor.store)
          let paused = try await send(
            .POST, url + "/v1/clusters/c/pause", token: made.token, body: #"{"operator": "mallory", "reason": "maintenance"}"#)
          #expect(paused.status == 200, "\(paused.body)")
          let entries = try monitor.store.audit(cluster: "c", limit: 10)
          #expect(entries.contains { $0.action == "paused" && $0.actor == "ana" }, "\(entries.map { "\($0.action) \($0.actor)" })")
          #expect(!entries.contains { $0.actor == "mallory" })
          // The CLI's client sends the token too; a revoked token is refused at once.
          let api = APIClient(baseURL: url, token: made.token)
          _ = try await api.status()
          #expect(try await monitor.store.revokeToken(name: "ana"))
          await #expect(throws: APIError.self) { _ = try await api.status() }
        }
      }
    }
  }

  @Test func servingBeyondLoopbackNeedsATokenFirst() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let config = try await configuration(cluster, dir: dir, listen: "0.0.0.0:0")
        await #expect {
          try await VigilServe.run(configuration: config, handleSignals: false, supervision: ServeSupervision())
        } throws: { error in
          "\(error)".contains("listen: 0.0.0.0:0 is not a loopback address") && "\(error)".contains("vigil token create")
        }
      }
    }
  }

  @Test func theAPIServesHTTPSWithTheConfiguredCertificate() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let certs = try await TestCertificates.make(in: dir + "/tls")
        let config = try await configuration(
          cluster, dir: dir,
          extra: "api: {tls: {certificate: \(certs.serverCertificate), key: \(certs.serverKey)}}")
        try await withServe(config) { url, _ in
          #expect(url.hasPrefix("https://"))
          let trusted = try APIClient.http(trusting: certs.caFile)
          #expect(try await send(.GET, url + "/healthz", http: trusted).status == 200)
          let status = try await APIClient(baseURL: url, http: trusted).status()
          #expect(status.clusters.map(\.name) == ["c"])
          // Plain HTTP to the TLS port gets no answer.
          await #expect(throws: (any Error).self) {
            _ = try await send(.GET, url.replacingOccurrences(of: "https://", with: "http://") + "/healthz")
          }
        }
      }
    }
  }
}
