import Foundation
import Hummingbird
import NIOCore
import VigilAPI
import VigilCoordination
import VigilCore
import VigilEngine
import VigilMonitor
import VigilProbes
import VigilRepair
import VigilStore

/// The HTTP API of `vigil serve`:
///
/// | route | what |
/// |---|---|
/// | `GET /` | the dashboard (a self-contained page; its data comes from the routes below, with the caller's token) |
/// | `GET /v1/events` | server-sent events: the status every second, for the dashboard |
/// | `GET /openapi.json`, `GET /openapi.yaml` | the OpenAPI 3.1 document of every route here (public) |
/// | `GET /healthz` | 200 while every loop of Vigil's own turns; 503 naming the stalled loops and their silence |
/// | `GET /readyz` | 200 once the clusters are loaded and the first probe round finished; 503 before |
/// | `GET /metrics` | Prometheus text exposition |
/// | `GET /status` | every cluster's health, members, diagnoses, findings, probes and open incidents (JSON) |
/// | `GET /v1/incidents?open=true&cluster=C&limit=N` | incidents with their timelines, newest first |
/// | `GET /v1/incidents/ID` | one incident |
/// | `GET /v1/transitions?cluster=C&limit=N` | health transitions with their evidence |
/// | `POST /v1/probes/run` `{"probe": NAME, "cluster": C}` | run a probe now |
/// | `POST /v1/inspect` `{"cluster": C}` | run the directed inspections now |
/// | `POST /v1/reports/TOKEN` | an `exec` probe's JSON result |
/// | `GET /v1/repairs?cluster=C&state=S&limit=N` | repair plans with their journaled steps, newest first |
/// | `GET /v1/repairs/ID` | one plan and its audit entries |
/// | `POST /v1/repairs` `{"runbook", "cluster", "member", "operator", "reason", "dryRun"}` | run a runbook by hand (waits until it ends) |
/// | `POST /v1/repairs/ID/approve` `{"operator"}`, `/reject` `{"operator", "reason"}` | decide a plan in approve mode |
/// | `POST /v1/clusters/NAME/pause` `{"operator", "reason"}`, `/resume` | stop or restart automatic repair |
/// | `GET /v1/audit?cluster=C&limit=N`, `GET /v1/audit/verify` | the audit log, and its hash chain checked |
/// | `GET /v1/repair-control` | paused clusters and faults escalated to a person |
/// | `POST /v1/clusters/NAME/failover` `{"operator", "reason"}` | switch NAME's pair to its other side (promote-standby; failover and failback) |
/// | `GET /v1/clusters/NAME/endpoints` | the healthy client URLs of the side serving NAME |
/// | `GET /v1/sd/etcd` | Prometheus HTTP service discovery: every cluster's serving members |
/// | `GET /v1/coordination` | this replica among several: the live replicas, its shards, whether its lease holds |
/// | `GET /v1/drills?limit=N` | drill suites under `api.drillReports`, newest first: summaries, runs, timelines |
/// | `GET /v1/drills/SUITE/FILE` | a suite's file: `timeline-SCENARIO-N.html`, `run-…json`, `report.json`, … |
/// | `GET /v1/clusters/NAME/gate` | the release gate: 200 `{"decision": "pass"}`, or 409 with the reasons |
/// | `GET /v1/tokens`, `POST /v1/tokens` `{"name", "role"}`, `DELETE /v1/tokens/NAME` | API tokens (a new one is shown once) |
///
/// Every route but `/healthz`, `/readyz`, the OpenAPI document, `/metrics` (unless `api.publicMetrics: false`), the dashboard's page
/// (which holds no data) and an exec probe's report (whose one-time token in the path is its credential) needs a
/// bearer token once tokens are in force
/// (``routes`` says which role each needs; see ``APIRole``).
public enum HTTPAPI {
  /// Every route and what it requires: the one table the access check reads (and the tests walk).
  public static let routes: [APIRoute] = [
    APIRoute("GET", "/", .none),
    APIRoute("GET", "/v1/events", .read),
    APIRoute("GET", "/openapi.json", .none),
    APIRoute("GET", "/openapi.yaml", .none),
    APIRoute("GET", "/healthz", .none),
    APIRoute("GET", "/readyz", .none),
    APIRoute("GET", "/metrics", .read),
    APIRoute("GET", "/status", .read),
    APIRoute("GET", "/v1/incidents", .read),
    APIRoute("GET", "/v1/incidents/:id", .read),
    APIRoute("GET", "/v1/transitions", .read),
    APIRoute("POST", "/v1/probes/run", .operate),
    APIRoute("POST", "/v1/inspect", .operate),
    APIRoute("POST", "/v1/reports/:token", .none),
    APIRoute("GET", "/v1/repairs", .read),
    APIRoute("GET", "/v1/repairs/:id", .read),
    APIRoute("POST", "/v1/repairs", .administer),
    APIRoute("POST", "/v1/repairs/:id/approve", .operate),
    APIRoute("POST", "/v1/repairs/:id/reject", .operate),
    APIRoute("POST", "/v1/clusters/:name/pause", .operate),
    APIRoute("POST", "/v1/clusters/:name/resume", .operate),
    APIRoute("POST", "/v1/clusters/:name/failover", .administer),
    APIRoute("GET", "/v1/audit", .read),
    APIRoute("GET", "/v1/audit/verify", .read),
    APIRoute("GET", "/v1/repair-control", .read),
    APIRoute("GET", "/v1/clusters/:name/endpoints", .read),
    APIRoute("GET", "/v1/clusters/:name/gate", .gate),
    APIRoute("GET", "/v1/sd/etcd", .read),
    APIRoute("GET", "/v1/drills", .read),
    APIRoute("GET", "/v1/coordination", .read),
    APIRoute("GET", "/v1/drills/:suite/:file", .read),
    APIRoute("GET", "/v1/tokens", .administer),
    APIRoute("POST", "/v1/tokens", .administer),
    APIRoute("DELETE", "/v1/tokens/:name", .administer),
  ]

  /// How the API checks its callers.
  public struct Access: Sendable {
    /// Whether `/metrics` is public (Prometheus scrapes without a token).
    public var publicMetrics = true
    /// Whether every non-public route needs a token even while none exists (always so on a non-loopback
    /// listener).
    public var requireTokens = false

    public init(publicMetrics: Bool = true, requireTokens: Bool = false) {
      self.publicMetrics = publicMetrics
      self.requireTokens = requireTokens
    }
  }

  public static func router(
    monitor: Monitor, repairs: RepairCoordinator, inbox: ReportInbox, metrics: PrometheusMetrics, access: Access = Access(),
    drills: DrillReports = DrillReports(root: "vigil-drills"), coordinator: ReplicaCoordinator? = nil
  ) -> Router<VigilRequestContext> {
    let router = Router(context: VigilRequestContext.self)
    let store = monitor.store
    let required = access.requireTokens
    router.add(middleware: TokenAuthenticator(store: store))
    router.add(
      middleware: AccessMiddleware(
        policy: APIAccessPolicy(routes: routes, publicMetrics: access.publicMetrics),
        enforced: {
          if required { return true }
          return ((try? await store.tokenCount()) ?? 1) > 0
        }))
    router.get("/") { _, _ in Dashboard.page() }
    addOpenAPIRoutes(to: router)
    router.get("/v1/events") { request, _ in
      switch request.uri.queryParameters.get("once").map({ String($0) }) {
      case nil, "false": return Dashboard.events(monitor: monitor, once: false)
      case "true": return Dashboard.events(monitor: monitor, once: true)
      case let other?: return problem(.badRequest, "once: \"\(other)\" is not true or false")
      }
    }
    router.get("/healthz") { _, _ in
      let stalled = monitor.liveness.stalled()
      let loops = monitor.liveness.loops.count
      return try json(Health(status: stalled.isEmpty ? "ok" : "stalled", loops: loops, stalled: stalled),
        status: stalled.isEmpty ? .ok : .serviceUnavailable)
    }
    router.get("/readyz") { _, _ in
      let ready = await monitor.isReady
      let pending = await monitor.firstRoundPending
      return try json(Readiness(ready: ready, firstRoundPending: pending), status: ready ? .ok : .serviceUnavailable)
    }
    router.get("/metrics") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
    router.get("/status") { _, _ in try json(await monitor.status()) }
    router.get("/v1/incidents") { request, _ in
      let q = request.uri.queryParameters
      let openOnly: Bool
      switch q.get("open") {
      case nil, "false": openOnly = false
      case "true": openOnly = true
      case let other?: return problem(.badRequest, "open: \"\(other)\" is not true or false")
      }
      guard let limit = limit(q.get("limit"), default: 50) else { return badLimit(q.get("limit")) }
      return try json(try await store.incidents(openOnly: openOnly, cluster: q.get("cluster"), limit: limit))
    }
    router.get("/v1/incidents/:id") { _, context in
      let raw = pathParameter(context, "id")
      guard let id = Int64(raw) else { return problem(.badRequest, "id: \"\(raw)\" is not an incident number") }
      guard let incident = try await store.incident(id: id) else { return problem(.notFound, "no incident \(id)") }
      return try json(incident)
    }
    router.get("/v1/transitions") { request, _ in
      let q = request.uri.queryParameters
      guard let limit = limit(q.get("limit"), default: 100) else { return badLimit(q.get("limit")) }
      return try json(try await store.transitions(cluster: q.get("cluster"), limit: limit))
    }
    router.post("/v1/probes/run") { request, _ in
      let body: [String: String]
      switch await decodeObject(request, keys: ["probe", "cluster"]) {
      case .success(let b): body = b
      case .failure(let message): return problem(.badRequest, message)
      }
      guard let probe = body["probe"] else {
        return problem(.badRequest, "probe: missing (expected {\"probe\": NAME, \"cluster\": C})")
      }
      if let cluster = body["cluster"], !(await monitor.clusterNames.contains(cluster)) {
        return problem(
          .notFound, "cluster: no cluster \"\(cluster)\" (known: \(await monitor.clusterNames.joined(separator: ", ")))")
      }
      let names = await monitor.probeNames(cluster: body["cluster"])
      guard names.contains(probe) else {
        return problem(.notFound, "probe: no probe \"\(probe)\" (configured: \(names.joined(separator: ", ")))")
      }
      return try json(await monitor.runProbe(name: probe, cluster: body["cluster"]))
    }
    router.post("/v1/inspect") { request, _ in
      let body: [String: String]
      switch await decodeObject(request, keys: ["cluster"]) {
      case .success(let b): body = b
      case .failure(let message): return problem(.badRequest, message)
      }
      let known = await monitor.clusterNames
      if let cluster = body["cluster"], !known.contains(cluster) {
        return problem(.notFound, "cluster: no cluster \"\(cluster)\" (known: \(known.joined(separator: ", ")))")
      }
      var out: [String: [Finding]] = [:]
      for name in known where body["cluster"] == nil || body["cluster"] == name {
        out[name] = await monitor.inspect(cluster: name)
      }
      return try json(out)
    }
    router.post("/v1/reports/:token") { request, context in
      let token = pathParameter(context, "token")
      let buffer = try await request.body.collect(upTo: 1 << 20)
      do throws(ReportInbox.DeliveryError) {
        try inbox.deliver(token: token, Data(buffer.readableBytesView))
        return Response(status: .noContent)
      } catch .unknownToken {
        return problem(.notFound, "no probe run is waiting on report token \"\(token)\" (it finished or never existed)")
      } catch .invalid(let message) {
        return problem(.badRequest, message)
      }
    }
    addRepairRoutes(router, repairs: repairs)
    addSiteRoutes(router, monitor: monitor, repairs: repairs)
    addAccessRoutes(router, store: store)
    addDrillRoutes(router, drills: drills)
    router.get("/v1/coordination") { _, _ in
      guard let coordinator else {
        return problem(.notFound, "this Vigil runs alone (no coordination section in its configuration)")
      }
      return try json(await coordinator.status)
    }
    addGateRoute(router, monitor: monitor, repairs: repairs)
    return router
  }

  /// The `limit` query parameter: 1 to 10,000, or the default when absent.
  static func limit(_ text: String?, default value: Int) -> Int? {
    guard let text else { return value }
    guard let n = Int(text), (1...10_000).contains(n) else { return nil }
    return n
  }

  static func badLimit(_ text: String?) -> Response {
    problem(.badRequest, "limit: \"\(text ?? "")\" is not a whole number from 1 to 10000")
  }

  static func text(_ s: String) -> Response {
    Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
  }

  /// A path parameter, percent-decoded (`/v1/tokens/j%C3%BCrgen` names the token `jürgen`).
  static func pathParameter(_ context: VigilRequestContext, _ name: String) -> String {
    let raw = context.parameters.get(name) ?? ""
    return raw.removingPercentEncoding ?? raw
  }

  static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    return Response(
      status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }

  /// `GET /healthz`: whether Vigil's own loops turn.
  struct Health: Encodable {
    /// `ok` or `stalled`.
    var status: String
    /// Loops watched.
    var loops: Int
    var stalled: [StalledLoop]
  }

  /// `GET /readyz`.
  struct Readiness: Encodable {
    var ready: Bool
    /// Probe targets still waiting for their first result.
    var firstRoundPending: Int
  }

  static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
    let data = (try? JSONEncoder().encode(["error": message])) ?? Data()
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }

  enum Decoded {
    case success([String: String])
    case failure(String)
  }

  /// A JSON object of text fields (an empty body is an empty object).
  static func decodeObject(_ request: Request, keys: [String]) async -> Decoded {
    guard let buffer = try? await request.body.collect(upTo: 64 << 10) else {
      return .failure("the body is larger than 64 KiB")
    }
    if buffer.readableBytes == 0 { return .success([:]) }
    guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
      return .failure("the body is not a JSON object (expected e.g. {\"\(keys[0])\": \"…\"})")
    }
    var out: [String: String] = [:]
    for (k, v) in object {
      guard keys.contains(k) else {
        return .failure("unknown field \"\(k)\" (expected \(keys.joined(separator: ", ")))")
      }
      guard let s = v as? String else { return .failure("\(k): expected text") }
      out[k] = s
    }
    return .success(out)
  }
}
