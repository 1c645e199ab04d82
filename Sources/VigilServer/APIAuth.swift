import Crypto
import Foundation
import Hummingbird
import HummingbirdAuth
import NIOCore
import VigilCore
import VigilStore

/// Who called: the name and role of the bearer token the request carried.
public struct APIIdentity: Sendable, Hashable {
  public var name: String
  public var role: APIRole
}

/// The request context of Vigil's API: Hummingbird's core context and the caller's identity, once a token
/// was recognised.
public struct VigilRequestContext: AuthRequestContext, RequestContext {
  public var coreContext: CoreRequestContextStorage
  public var identity: APIIdentity?

  public init(source: Source) {
    coreContext = .init(source: source)
    identity = nil
  }
}

/// API tokens: made from 32 random bytes, shown once, stored as their SHA-256 only.
public enum APITokens {
  public static let prefix = "vigil_"

  /// A new token.
  public static func generate() -> String {
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    return prefix + bytes.map { String(format: "%02x", $0) }.joined()
  }

  /// What the store keeps of a token: the lower-case hex SHA-256 of its text.
  public static func hash(_ token: String) -> String {
    SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
  }
}

/// Recognises a bearer token by its hash in the store (so a token made or revoked while Vigil runs counts at
/// once). An unknown token leaves the request without an identity; the access check answers 401.
struct TokenAuthenticator: AuthenticatorMiddleware {
  typealias Context = VigilRequestContext
  let store: HistoryStore

  func authenticate(request: Request, context: Context) async throws -> APIIdentity? {
    guard let bearer = request.headers.bearer else { return nil }
    guard let token = try await store.token(hash: APITokens.hash(bearer.token)) else { return nil }
    return APIIdentity(name: token.name, role: token.role)
  }
}

/// Refuses a request whose caller may not use its route: 401 without a recognised token, 403 when the
/// token's role does not allow it; JSON errors either way, and no secret in them.
struct AccessMiddleware: RouterMiddleware {
  typealias Context = VigilRequestContext
  let policy: APIAccessPolicy
  /// Whether tokens are required now (a non-loopback listener, `api.requireTokens`, or any token made).
  let enforced: @Sendable () async -> Bool

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    let requirement = policy.requirement(method: request.method.rawValue, path: request.uri.path)
    guard requirement != .none, await enforced() else { return try await next(request, context) }
    guard let identity = context.identity else {
      let why =
        request.headers.bearer == nil
        ? "this route needs a bearer token (Authorization: Bearer …; vigil token create makes one)"
        : "the bearer token is not one Vigil knows (revoked, or mistyped)"
      var response = HTTPAPI.problem(.unauthorized, why)
      response.headers[.wwwAuthenticate] = "Bearer realm=\"vigil\""
      return response
    }
    guard identity.role.allows(requirement) else {
      let needs = APIRole.allCases.filter { $0.allows(requirement) }.map(\.rawValue).joined(separator: " or ")
      return HTTPAPI.problem(
        .forbidden,
        "token \"\(identity.name)\" has role \(identity.role.rawValue); \(request.method.rawValue) \(request.uri.path) needs \(needs)")
    }
    return try await next(request, context)
  }
}
