import Foundation
import Hummingbird
import VigilCore
import VigilRepair
import VigilStore

extension HTTPAPI {
  /// Plans, approvals, pause/resume, manual runs and the audit log.
  static func addRepairRoutes(_ router: Router<VigilRequestContext>, repairs: RepairCoordinator) {
    let store = repairs.store
    router.get("/v1/repairs") { request, _ in
      let q = request.uri.queryParameters
      guard let limit = limit(q.get("limit"), default: 50) else { return badLimit(q.get("limit")) }
      var states: [PlanState]?
      if let raw = q.get("state") {
        guard let state = PlanState(rawValue: raw) else {
          return problem(
            .badRequest, "state: \"\(raw)\" is not a plan state (expected \(PlanState.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        states = [state]
      }
      return try json(try await store.plans(cluster: q.get("cluster"), states: states, limit: limit))
    }
    router.get("/v1/repairs/:id") { _, context in
      let raw = pathParameter(context, "id")
      guard let id = Int64(raw) else { return problem(.badRequest, "id: \"\(raw)\" is not a plan number") }
      guard let plan = try await store.plan(id: id) else { return problem(.notFound, "no plan \(id)") }
      return try json(PlanWithAudit(plan: plan, audit: try await store.audit(planID: id, limit: 1000, ascending: true)))
    }
    router.post("/v1/repairs") { request, context in
      let body: [String: String]
      switch await decodeObject(request, keys: ["runbook", "cluster", "member", "operator", "reason", "dryRun"]) {
      case .success(let b): body = b
      case .failure(let message): return problem(.badRequest, message)
      }
      guard let raw = body["runbook"] else {
        return problem(.badRequest, "runbook: missing (expected one of \(Runbook.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      guard let runbook = Runbook(rawValue: raw) else {
        return problem(
          .badRequest, "runbook: \"\(raw)\" is not a runbook (expected one of \(Runbook.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      guard let cluster = body["cluster"] else { return problem(.badRequest, "cluster: missing") }
      guard let person = operatorName(body, context) else { return missingOperator() }
      let dryRun: Bool
      switch body["dryRun"] {
      case nil, "false": dryRun = false
      case "true": dryRun = true
      case let other?: return problem(.badRequest, "dryRun: \"\(other)\" is not true or false")
      }
      return try await outcome {
        try await repairs.run(
          runbook, cluster: cluster, member: body["member"], by: person, reason: body["reason"] ?? "", dryRun: dryRun)
      }
    }
    // One route a decision (not a capture): a path the API does not have is the router's 404.
    for decision in ["approve", "reject"] {
      router.post(RouterPath("/v1/repairs/:id/\(decision)")) { request, context in
        let raw = pathParameter(context, "id")
        guard let id = Int64(raw) else { return problem(.badRequest, "id: \"\(raw)\" is not a plan number") }
        let body: [String: String]
        switch await decodeObject(request, keys: ["operator", "reason"]) {
        case .success(let b): body = b
        case .failure(let message): return problem(.badRequest, message)
        }
        guard let person = operatorName(body, context) else { return missingOperator() }
        return try await outcome {
          decision == "approve"
            ? try await repairs.approve(plan: id, by: person)
            : try await repairs.reject(plan: id, by: person, reason: body["reason"] ?? "")
        }
      }
    }
    for action in ["pause", "resume", "failover"] {
      router.post(RouterPath("/v1/clusters/:name/\(action)")) { request, context in
        let cluster = pathParameter(context, "name")
        let body: [String: String]
        switch await decodeObject(request, keys: ["operator", "reason"]) {
        case .success(let b): body = b
        case .failure(let message): return problem(.badRequest, message)
        }
        guard let person = operatorName(body, context) else { return missingOperator() }
        if action == "failover" {
          // Waits until the plan ends, like a manual run.
          return try await outcome { try await repairs.failover(cluster: cluster, by: person, reason: body["reason"] ?? "") }
        }
        return try await outcome {
          if action == "pause" {
            try await repairs.pause(cluster: cluster, by: person, reason: body["reason"] ?? "")
          } else {
            try await repairs.resume(cluster: cluster, by: person, reason: body["reason"] ?? "")
          }
          return ["cluster": cluster, "repair": action == "pause" ? "paused" : "resumed"]
        }
      }
    }
    router.get("/v1/audit") { request, _ in
      let q = request.uri.queryParameters
      guard let limit = limit(q.get("limit"), default: 100) else { return badLimit(q.get("limit")) }
      return try json(try await store.audit(cluster: q.get("cluster"), limit: limit))
    }
    router.get("/v1/audit/verify") { _, _ in try json(try await store.verifyAudit()) }
    router.get("/v1/repair-control") { _, _ in
      try json(RepairControl(paused: await repairs.pausedClusters, escalated: await repairs.escalations))
    }
  }

  /// Who acts: the token's subject when the request carried one (a self-declared `operator` is ignored then),
  /// else the body's `operator` (an API without tokens, on loopback).
  static func operatorName(_ body: [String: String], _ context: VigilRequestContext) -> String? {
    if let identity = context.identity { return identity.name }
    guard let name = body["operator"]?.trimmingCharacters(in: .whitespaces), !name.isEmpty, name != "vigil" else {
      return nil
    }
    return name
  }

  static func missingOperator() -> Response {
    problem(.badRequest, "operator: missing (who is acting? every human action is audited by name, e.g. {\"operator\": \"alice\"})")
  }

  /// The JSON of what `body` returns, or the request error it threw with its status.
  static func outcome<T: Encodable>(_ body: () async throws -> T) async throws -> Response {
    do { return try json(try await body()) } catch let e as RepairRequestError {
      return problem(HTTPResponse.Status(code: e.status), e.message)
    }
  }
}

struct PlanWithAudit: Encodable {
  var plan: RepairPlan
  var audit: [AuditEntry]
}

struct RepairControl: Encodable {
  var paused: [String]
  var escalated: [String]
}
