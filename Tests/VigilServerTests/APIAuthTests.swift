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

/// The API's tokens and roles against a live `vigil serve` on a real cluster: every operation of the OpenAPI
/// document walked without a token, with a wrong one and with each role (every answer checked against the
/// document); the audit naming the token's subject; the refusal to
/// listen beyond loopback without tokens; HTTPS.
@Suite("API tokens, roles and TLS", .serialized)
struct APIAuthTests {
  func configuration(_ cluster: LocalCluster, dir: String, listen: String = "127.0.0.1:0", extra: String = "")
    async throws -> VigilConfiguration
  {
    try await LiveServe.configuration(cluster, dir: dir, listen: listen, extra: extra)
  }

  func send(
    _ method: HTTPMethod, _ url: String, token: String? = nil, body: String? = nil, http: HTTPClient = APIClient.http,
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws -> (status: Int, body: String, headers: HTTPHeaders) {
    try await LiveServe.send(method, url, token: token, body: body, http: http, sourceLocation: sourceLocation)
  }

  /// An operation's path template filled in (a plan number that does not exist, the cluster, a token name).
  static func concrete(_ path: String) -> String {
    path == "/v1/events"
      ? path + "?once=true"
      : path.replacingOccurrences(of: "{id}", with: "999999").replacingOccurrences(of: "{name}", with: "c")
        .replacingOccurrences(of: "{token}", with: "no-such-report")
  }

  @Test func everyOperationOfTheOpenAPIDocumentRefusesCallersWithoutTheRoleItNeeds() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let config = try await configuration(cluster, dir: dir)
        try await LiveServe.run(config) { url, monitor in
          // No token yet, on loopback: open, as before tokens.
          #expect(try await send(.GET, url + "/status").status == 200)
          var tokens: [APIRole: String] = [:]
          for role in APIRole.allCases {
            tokens[role] = try await TokenMaker.make(name: "t-\(role.rawValue)", role: role.rawValue, by: "test", store: monitor.store).token
          }
          // The document's operations, each with the role it says it needs — the server's table must agree.
          let policy = APIAccessPolicy(routes: HTTPAPI.routes)
          let operations = try OpenAPIContract().operations
          #expect(operations.count == HTTPAPI.routes.count)
          for route in operations {
            let path = String(Self.concrete(route.path).split(separator: "?")[0])
            let documented = try #require(route.requirement.flatMap(APIRequirement.init(rawValue:)), "\(route.method) \(route.path)")
            // What the server enforces here (`/metrics` is public unless `api.publicMetrics: false`).
            let requirement = policy.requirement(method: route.method, path: path)
            #expect(requirement == documented || (route.path == "/metrics" && requirement == .none), "\(route.method) \(route.path)")
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
        try await LiveServe.run(config) { url, monitor in
          // Tokens required though none exists yet: refused.
          #expect(try await send(.GET, url + "/status").status == 401)
          let made = try await TokenMaker.make(name: "ana", role: "operator", by: "test", store: monitor.store)
          let paused = try await send(
            .POST, url + "/v1/clusters/c/pause", token: made.token, body: #"{"operator": "mallory", "reason": "maintenance"}"#)
          #expect(paused.status == 200, "\(paused.body)")
          let entries = try await monitor.store.audit(cluster: "c", limit: 10)
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
        try await LiveServe.run(config) { url, _ in
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
