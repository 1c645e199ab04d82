import Foundation
import Hummingbird
import VigilAPI
import VigilCore
import VigilMonitor
import VigilRepair
import VigilStore

extension HTTPAPI {
  /// API tokens: listed (never the tokens themselves), made (shown once), revoked.
  static func addAccessRoutes(_ router: Router<VigilRequestContext>, store: HistoryStore) {
    router.get("/v1/tokens") { _, _ in
      try json(try await store.tokens().map(TokenInfo.init))
    }
    router.post("/v1/tokens") { request, context in
      let body: [String: String]
      switch await decodeObject(request, keys: ["name", "role"]) {
      case .success(let b): body = b
      case .failure(let message): return problem(.badRequest, message)
      }
      let made: NewToken
      do throws(TokenMaker.Refusal) {
        made = try await TokenMaker.make(
          name: body["name"], role: body["role"], by: context.identity?.name ?? "api", store: store)
      } catch {
        return problem(error.isConflict ? .conflict : .badRequest, error.description)
      }
      return try json(made, status: .created)
    }
    router.delete("/v1/tokens/:name") { _, context in
      let name = pathParameter(context, "name")
      guard try await store.revokeToken(name: name) else { return problem(.notFound, "no token named \"\(name)\"") }
      return try json(["name": name, "revoked": "true"])
    }
  }
}

/// A stored token as the API and `vigil token list` show it (never its hash).
public struct TokenInfo: Codable, Sendable {
  public var name: String
  public var role: APIRole
  public var createdAt: Double
  public var createdBy: String

  public init(_ token: StoredToken) {
    name = token.name
    role = token.role
    createdAt = token.createdAt
    createdBy = token.createdBy
  }
}

/// A token just made: the only time its text is shown.
public struct NewToken: Codable, Sendable {
  public var name: String
  public var role: APIRole
  public var token: String
}

/// Makes tokens for `vigil token create` and `POST /v1/tokens`, checking the name and role first.
public enum TokenMaker {
  public struct Refusal: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var isConflict = false
  }

  public static func make(name: String?, role: String?, by creator: String, store: HistoryStore) async throws(Refusal)
    -> NewToken
  {
    let roles = APIRole.allCases.map(\.rawValue).joined(separator: ", ")
    guard let name, !name.isEmpty else { throw Refusal(description: "name: missing (who or what uses the token, e.g. \"alice\" or \"deploy-pipeline\")") }
    guard name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.@".contains($0) }), name != "vigil" else {
      throw Refusal(description: "name: \"\(name)\" is not a token name (letters, digits, - _ . @; at most 64; not \"vigil\")")
    }
    guard let raw = role, let parsed = APIRole(rawValue: raw) else {
      throw Refusal(description: "role: \"\(role ?? "")\" is not a role (expected one of \(roles))")
    }
    let token = APITokens.generate()
    do {
      try await store.addToken(
        StoredToken(
          name: name, role: parsed, hash: APITokens.hash(token), createdAt: Date().timeIntervalSince1970, createdBy: creator))
    } catch let e as TokenStoreError {
      throw Refusal(description: e.description, isConflict: true)
    } catch {
      throw Refusal(description: "cannot store the token: \(error)")
    }
    return NewToken(name: name, role: parsed, token: token)
  }
}

extension HTTPAPI {
  /// The release gate: 200 `{"decision": "pass"}`, or 409 with the reasons (`curl -f` fails a pipeline step).
  static func addGateRoute(_ router: Router<VigilRequestContext>, monitor: Monitor, repairs: RepairCoordinator) {
    router.get("/v1/clusters/:name/gate") { _, context in
      let name = pathParameter(context, "name")
      let status = await monitor.status()
      guard let cluster = status.clusters.first(where: { $0.name == name }) else {
        return problem(.notFound, "no cluster named \"\(name)\" (clusters: \(status.clusters.map(\.name).joined(separator: ", ")))")
      }
      let plans = try await repairs.store.plans(cluster: name, states: [.running, .ready, .awaitingApproval], limit: 20)
      let decision = ReleaseGate.decide(cluster, plans: plans)
      return try json(decision, status: decision.passed ? .ok : .conflict)
    }
  }
}
