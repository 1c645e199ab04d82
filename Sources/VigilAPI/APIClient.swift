import AsyncHTTPClient
import Foundation
import NIOCore
import NIOConcurrencyHelpers
import NIOHTTP1
import NIOSSL
import VigilCore

/// A call to `vigil serve` that did not give the answer asked for.
public struct APIError: Error, Sendable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// Nothing answered at the address (refused, timed out, not HTTP).
    case unreachable
    /// The server refused the request; `status` says how (400 and 404: the request was wrong).
    case rejected(status: Int)
    /// The answer was not the JSON expected.
    case badAnswer
  }

  public var kind: Kind
  /// The server's own words (its `error` field) or what went wrong on the way.
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}

/// The HTTP API of `vigil serve`, for the CLI and any Swift program: one method per endpoint, the same JSON
/// types the server encodes.
public struct APIClient: Sendable {
  /// `http://host:port`, without a trailing slash.
  public let baseURL: String
  /// The bearer token sent with every request (nil: none).
  public let token: String?
  let http: HTTPClient

  public init(baseURL: String, token: String? = nil, http: HTTPClient = APIClient.http) {
    self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    self.token = token
    self.http = http
  }

  /// The process's HTTP client for the API: a refused connection fails the call at once (the shared client
  /// retries until the deadline, so `vigil status` with no server would wait a minute to say so).
  public static let http: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = .seconds(5)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
  }()

  // MARK: reading

  /// Every cluster's health, members, diagnoses, findings, probes and open incidents.
  public func status() async throws(APIError) -> MonitorStatus { try await call(.GET, "/status") }

  /// Incidents, newest first.
  public func incidents(openOnly: Bool = false, cluster: String? = nil, limit: Int = 20) async throws(APIError) -> [Incident] {
    try await call(.GET, "/v1/incidents", query: ["limit": "\(limit)", "open": openOnly ? "true" : nil, "cluster": cluster])
  }

  /// One incident with its whole timeline.
  public func incident(id: Int64) async throws(APIError) -> Incident { try await call(.GET, "/v1/incidents/\(id)") }

  /// The newest audit entries.
  public func audit(cluster: String? = nil, limit: Int = 50) async throws(APIError) -> [AuditEntry] {
    try await call(.GET, "/v1/audit", query: ["limit": "\(limit)", "cluster": cluster])
  }

  /// Repair plans, newest first.
  public func repairs(cluster: String? = nil, state: String? = nil, limit: Int = 20) async throws(APIError) -> [RepairPlan] {
    try await call(.GET, "/v1/repairs", query: ["limit": "\(limit)", "cluster": cluster, "state": state])
  }

  // MARK: acting

  /// Runs the probes named `probe` (of `cluster`, or of every cluster) now.
  public func runProbe(_ probe: String, cluster: String? = nil) async throws(APIError) -> [ProbeRunReport] {
    try await call(.POST, "/v1/probes/run", body: ["probe": probe, "cluster": cluster])
  }

  /// Runs the directed inspections now; findings by cluster.
  public func inspect(cluster: String? = nil) async throws(APIError) -> [String: [Finding]] {
    try await call(.POST, "/v1/inspect", body: ["cluster": cluster])
  }

  /// Runs a runbook through the safety guards; returns when the plan ends.
  public func repair(
    _ runbook: Runbook, cluster: String, member: String? = nil, operator person: String, reason: String, dryRun: Bool
  ) async throws(APIError) -> RepairPlan {
    try await call(
      .POST, "/v1/repairs",
      body: [
        "runbook": runbook.rawValue, "cluster": cluster, "member": member, "operator": person, "reason": reason,
        "dryRun": dryRun ? "true" : "false",
      ], timeout: .seconds(600))
  }

  public func approve(plan id: Int64, operator person: String) async throws(APIError) -> RepairPlan {
    try await call(.POST, "/v1/repairs/\(id)/approve", body: ["operator": person])
  }

  public func reject(plan id: Int64, operator person: String, reason: String) async throws(APIError) -> RepairPlan {
    try await call(.POST, "/v1/repairs/\(id)/reject", body: ["operator": person, "reason": reason])
  }

  /// Stops automatic repair of `cluster` (kept across restarts).
  public func pause(cluster: String, operator person: String, reason: String) async throws(APIError) {
    let _: [String: String] = try await call(
      .POST, "/v1/clusters/\(cluster)/pause", body: ["operator": person, "reason": reason])
  }

  public func resume(cluster: String, operator person: String, reason: String) async throws(APIError) {
    let _: [String: String] = try await call(
      .POST, "/v1/clusters/\(cluster)/resume", body: ["operator": person, "reason": reason])
  }

  /// Switches `cluster`'s pair to its other side (promote-standby); returns the finished plan.
  public func failover(cluster: String, operator person: String, reason: String) async throws(APIError) -> RepairPlan {
    try await call(
      .POST, "/v1/clusters/\(cluster)/failover", body: ["operator": person, "reason": reason], timeout: .seconds(600))
  }

  /// Where `cluster`'s clients should connect now.
  public func endpoints(cluster: String) async throws(APIError) -> PublishedEndpoints {
    try await call(.GET, "/v1/clusters/\(cluster)/endpoints")
  }

  /// The release gate's answer for `cluster` (a fail is an answer too, not an error).
  public func gate(cluster: String) async throws(APIError) -> GateDecision {
    try await call(.GET, "/v1/clusters/\(cluster)/gate", accept: [409])
  }

  // MARK: the wire

  /// A connection failure in a few words (the transport's own descriptions nest several errors).
  static func describe(_ error: any Error) -> String {
    let text = String(describing: error)
    if text.contains("refused") { return "connection refused" }
    if text.localizedCaseInsensitiveContains("timeout") || text.contains("timed out") { return "timed out" }
    return text
  }

  /// Sends one request (a JSON object of strings as the body; nil values left out) and decodes the answer.
  func call<T: Decodable>(
    _ method: HTTPMethod, _ path: String, query: [String: String?] = [:], body: [String: String?]? = nil,
    timeout: TimeAmount = .seconds(60), accept: Set<Int> = []
  ) async throws(APIError) -> T {
    var url = baseURL + path
    let items = query.compactMapValues { $0 }.sorted { $0.key < $1.key }
    if !items.isEmpty {
      var components = URLComponents()
      components.queryItems = items.map { URLQueryItem(name: $0.key, value: $0.value) }
      url += "?" + (components.percentEncodedQuery ?? "")
    }
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(name: "Accept", value: "application/json")
    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    // One connection per call: an idle pooled connection would hold up the server's graceful shutdown.
    request.headers.add(name: "Connection", value: "close")
    if let body {
      let data: Data
      do { data = try JSONEncoder().encode(body.compactMapValues { $0 }) } catch {
        throw APIError(.badAnswer, "cannot encode the request: \(error)")
      }
      request.headers.add(name: "Content-Type", value: "application/json")
      request.body = .bytes(ByteBuffer(bytes: data))
    }
    let status: Int
    let bytes: ByteBuffer
    do {
      let response = try await http.execute(request, timeout: timeout)
      status = Int(response.status.code)
      bytes = try await response.body.collect(upTo: 64 << 20)
    } catch {
      throw APIError(.unreachable, "no vigil serve answers at \(baseURL): \(Self.describe(error))")
    }
    let data = Data(bytes.readableBytesView)
    guard (200..<300).contains(status) || accept.contains(status) else {
      let said = (try? JSONDecoder().decode([String: String].self, from: data))?["error"]
      throw APIError(.rejected(status: status), said ?? String(decoding: data, as: UTF8.self))
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
      throw APIError(.badAnswer, "\(baseURL)\(path): unexpected answer: \(error)")
    }
  }
}

extension APIClient {
  private static let trusting = NIOLockedValueBox<[String: HTTPClient]>([:])

  /// An HTTP client that trusts the CA in `caFile` (PEM) besides the system's: for a `vigil serve` whose
  /// certificate a private CA signed. One per file for the process's life.
  public static func http(trusting caFile: String) throws -> HTTPClient {
    if let made = trusting.withLockedValue({ $0[caFile] }) { return made }
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
    var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = .seconds(5)
    let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    trusting.withLockedValue { $0[caFile] = client }
    return client
  }
}
