import GRPCCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import SwiftProtobuf
import VigilEtcdProto

/// A native etcd v3 client.
///
/// One HTTP/2 connection per endpoint, opened lazily. Calls go to the
/// endpoint in use; when it is unreachable they move to the next one — but a
/// write whose outcome is unknown is never replayed: the caller gets
/// ``EtcdError/Code/outcomeUnknown`` instead. ``member(_:)`` gives a client
/// pinned to one member, for probes and repairs.
///
/// ```swift
/// let client = try EtcdClient(endpoints: "http://127.0.0.1:2379")
/// try await client.kv.put("/greeting", "hello")
/// let value = try await client.kv.get("/greeting")?.valueString
/// ```
public final class EtcdClient: Sendable {
  public let configuration: EtcdClientConfiguration
  let logger: Logger
  /// The endpoints calls go to: the configured ones until ``follow(_:)`` replaces them.
  let endpointSet: EndpointSet
  private let ownsConnections: Bool
  /// A view pinned to one member (``member(_:)``) never follows the membership.
  private let pinned: Bool
  private let auth: AuthState
  private let sslContext: NIOSSLContext?

  /// Creates a client. Nothing connects until the first call.
  /// - Throws: ``EtcdError`` with `.invalidArgument` for an empty endpoint list,
  ///   `.tlsFailure` when a certificate or key file cannot be loaded.
  public convenience init(
    configuration: EtcdClientConfiguration,
    eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    logger: Logger = Logger(label: "vigil.etcd")
  ) throws(EtcdError) {
    guard !configuration.endpoints.isEmpty else {
      throw EtcdError(.invalidArgument, "no endpoints given")
    }
    let sslContext = try configuration.tls.map { tls throws(EtcdError) in try Self.makeSSLContext(tls) }
    let connections = configuration.endpoints.map { endpoint in
      var endpoint = endpoint
      if sslContext != nil { endpoint.scheme = .https }
      return HTTP2Connection(
        endpoint: endpoint, sslContext: sslContext, settings: configuration.connection,
        eventLoop: eventLoopGroup.next())
    }
    self.init(
      configuration: configuration, endpointSet: EndpointSet(connections.map(EndpointSlot.init)), owns: true,
      pinned: false, auth: AuthState(), sslContext: sslContext, logger: logger)
  }

  /// Convenience: endpoints as a comma-separated string.
  public convenience init(endpoints: String, tls: EtcdTLSConfiguration? = nil, credentials: EtcdCredentials? = nil)
    throws(EtcdError)
  {
    let list: [EtcdEndpoint]
    do { list = try EtcdEndpoint.parseList(endpoints) } catch { throw EtcdError(error) }
    try self.init(configuration: EtcdClientConfiguration(endpoints: list, tls: tls, credentials: credentials))
  }

  private init(
    configuration: EtcdClientConfiguration, endpointSet: EndpointSet, owns: Bool, pinned: Bool, auth: AuthState,
    sslContext: NIOSSLContext?, logger: Logger
  ) {
    self.sslContext = sslContext
    self.configuration = configuration
    self.endpointSet = endpointSet
    self.ownsConnections = owns
    self.pinned = pinned
    self.auth = auth
    self.logger = logger
  }

  /// The connections of the current endpoints.
  var connections: [HTTP2Connection] { endpointSet.snapshot.slots.map(\.connection) }

  /// A client that talks only to `endpoint` (no failover). It shares this
  /// client's connection and credentials when the endpoint is one of its
  /// own; otherwise it opens its own connection — call ``shutdown()`` on it.
  /// - Parameter sharing: use this client's connection to the member when it has one (the default); false
  ///   gives the pinned client a connection of its own, which outlives this client's membership changes (a
  ///   repair waiting for a member through a restore, when the member list is rebuilt under it).
  public func member(_ endpoint: EtcdEndpoint, sharing: Bool = true) -> EtcdClient {
    var config = configuration
    let slots = endpointSet.snapshot.slots
    if sharing, let existing = slots.first(where: { $0.endpoint.authority == endpoint.authority }) {
      config.endpoints = [existing.endpoint]
      return EtcdClient(
        configuration: config, endpointSet: EndpointSet([existing]), owns: false, pinned: true, auth: auth,
        sslContext: sslContext, logger: logger)
    }
    let connection = HTTP2Connection(
      endpoint: EtcdEndpoint(scheme: slots[0].endpoint.scheme, host: endpoint.host, port: endpoint.port),
      sslContext: sslContext, settings: configuration.connection, eventLoop: slots[0].connection.eventLoop)
    config.endpoints = [connection.endpoint]
    return EtcdClient(
      configuration: config, endpointSet: EndpointSet([EndpointSlot(connection)]), owns: true, pinned: true,
      auth: auth, sslContext: sslContext, logger: logger)
  }

  /// The same client with another deadline per call (connections, failover
  /// position and credentials are shared): `client.withCallTimeout(.milliseconds(300)).kv.get(k)`.
  public func withCallTimeout(_ timeout: TimeAmount) -> EtcdClient {
    var config = configuration
    config.callTimeout = timeout
    return EtcdClient(
      configuration: config, endpointSet: endpointSet, owns: false, pinned: pinned, auth: auth,
      sslContext: sslContext, logger: logger)
  }

  /// The endpoint calls currently go to.
  public var endpointInUse: EtcdEndpoint { endpointSet.preferredSlot.endpoint }

  /// The endpoints calls may go to now: the configured ones (the seed list) until ``follow(_:)`` replaced them.
  public var endpoints: [EtcdEndpoint] { endpointSet.snapshot.slots.map(\.endpoint) }

  /// Per-endpoint connection statistics.
  public var connectionStatistics: [(endpoint: EtcdEndpoint, counters: ConnectionCounters)] {
    connections.map { ($0.endpoint, $0.statistics) }
  }

  /// Closes every connection this client opened.
  public func shutdown() async {
    guard ownsConnections else { return }
    for connection in connections { try? await connection.shutdown().get() }
  }

  /// Follows the cluster's membership, as etcd's Go client does with auto-sync: calls go to `endpoints`
  /// (the live members' client URLs) from now on. Connections to endpoints that stay are kept; those to
  /// endpoints that left are closed (calls in flight on them fail over). The configured endpoints are only
  /// the seed list. A client pinned to one member (``member(_:)``) and an empty list change nothing.
  /// - Returns: true when the endpoints changed.
  @discardableResult
  public func follow(_ endpoints: [EtcdEndpoint]) async -> Bool {
    guard !pinned, !endpoints.isEmpty else { return false }
    let current = endpointSet.snapshot.slots
    var next: [EndpointSlot] = []
    for var endpoint in endpoints where !next.contains(where: { $0.endpoint.authority == endpoint.authority }) {
      if sslContext != nil { endpoint.scheme = .https }
      if let kept = current.first(where: { $0.endpoint.authority == endpoint.authority }) {
        next.append(kept)
      } else {
        next.append(
          EndpointSlot(
            HTTP2Connection(
              endpoint: endpoint, sslContext: sslContext, settings: configuration.connection,
              eventLoop: current[0].connection.eventLoop)))
      }
    }
    guard next.map(ObjectIdentifier.init) != current.map(ObjectIdentifier.init) else { return false }
    let removed = endpointSet.replace(with: next)
    logger.info(
      "following the cluster's membership",
      metadata: ["etcd.endpoints": "\(next.map(\.endpoint.description))", "etcd.removed": "\(removed.map(\.endpoint.description))"])
    for slot in removed { try? await slot.connection.shutdown().get() }
    return true
  }

  public var kv: EtcdKV { EtcdKV(client: self) }
  public var lease: EtcdLeases { EtcdLeases(client: self) }
  public var cluster: EtcdCluster { EtcdCluster(client: self) }
  public var maintenance: EtcdMaintenance { EtcdMaintenance(client: self) }
  public var authentication: EtcdAuth { EtcdAuth(client: self) }

  // MARK: calls

  /// Runs one unary call with failover.
  /// - Parameters:
  ///   - idempotent: true when repeating the call cannot change the outcome
  ///     (reads, status); only then is a call retried after it may have reached etcd.
  func unary<Request: Message, Response: Message>(
    _ path: String, _ request: Request, idempotent: Bool, timeout: TimeAmount? = nil
  ) async throws(EtcdError) -> Response {
    let bytes: [UInt8]
    do { bytes = try request.serializedBytes() } catch {
      throw EtcdError(.invalidArgument, "cannot encode \(Request.protoMessageName): \(error)")
    }
    let budget = timeout ?? configuration.callTimeout
    let deadline = NIODeadline.now() + budget
    let (slots, start) = endpointSet.snapshot
    let count = slots.count
    var failures: [EtcdError] = []
    var refreshedToken = false
    var step = 0
    while step < count {
      let index = (start + step) % count
      let slot = slots[index]
      let connection = slot.connection
      let remaining = deadline - .now()
      guard remaining > .zero else { break }
      let metadata = try await authMetadata(path: path)
      do {
        let answer = try await connection.unary(path: path, request: bytes, metadata: metadata, timeout: remaining)
          .get()
        if index != start { endpointSet.prefer(slot) }
        do { return try Response(serializedBytes: answer) } catch {
          throw CallFailure.status(
            EtcdError(
              .protocolError, "cannot decode \(Response.protoMessageName): \(error)",
              endpoint: connection.endpoint))
        }
      } catch let failure as CallFailure {
        switch failure {
        case .notSent(let error):
          failures.append(error)
        case .interrupted(let error):
          guard idempotent else {
            throw EtcdError(
              .outcomeUnknown,
              "connection lost after the request was sent (\(error.message)); it may or may not have been applied",
              endpoint: connection.endpoint)
          }
          failures.append(error)
        case .timedOut(let error):
          // This call's deadline is spent; the next call starts at another member, so a frozen member
          // costs one timeout, not one per call until it answers again.
          endpointSet.advance(from: slot)
          if idempotent { throw error }
          var e = error
          e.message += "; the write may or may not have been applied"
          throw e
        case .status(let error):
          if error.isInvalidAuthToken, configuration.credentials != nil, !refreshedToken {
            refreshedToken = true
            auth.invalidate()
            continue
          }
          if error.code == .unavailable, idempotent, count > 1 {
            failures.append(error)
          } else {
            throw error
          }
        }
      } catch {
        throw EtcdError(.serverError, "\(error)", endpoint: connection.endpoint, cause: error)
      }
      step += 1
      if step < count {
        logger.debug(
          "etcd call failed over", metadata: ["etcd.path": "\(path)", "etcd.endpoint": "\(connection.endpoint)"])
      }
    }
    if failures.isEmpty {
      throw EtcdError(.timedOut, "no answer within \(budget.nanoseconds / 1_000_000) ms", endpoint: endpointInUse)
    }
    if failures.count == 1 { throw failures[0] }
    let detail = failures.map { "\($0.endpoint.map { "\($0)" } ?? "?"): \($0.message)" }.joined(separator: "; ")
    throw EtcdError(failures.last!.code, "all \(failures.count) endpoints failed: \(detail)")
  }

  /// Runs a streaming call through the generated stubs on the endpoint in use,
  /// moving to the next endpoint when this one cannot be reached.
  func streaming<R: Sendable>(
    _ body: (GRPCClient<EtcdTransport>, Metadata) async throws -> R
  ) async throws(EtcdError) -> R {
    let (slots, start) = endpointSet.snapshot
    let count = slots.count
    var lastError: EtcdError?
    for step in 0..<count {
      let index = (start + step) % count
      let slot = slots[index]
      let metadata = try await streamMetadata()
      do {
        let result = try await body(slot.grpc, metadata)
        if index != start { endpointSet.prefer(slot) }
        return result
      } catch {
        let e = EtcdError.from(error, endpoint: slot.endpoint)
        if e.isInvalidAuthToken { auth.invalidate() }
        guard e.code == .unreachable else { throw e }
        lastError = e
      }
    }
    throw lastError ?? EtcdError(.unreachable, "no endpoint reachable")
  }

  // MARK: auth

  /// Request metadata for a streaming call: the auth token, authenticating
  /// first when needed (empty without credentials).
  func streamMetadata() async throws(EtcdError) -> Metadata {
    var metadata = Metadata()
    for (key, value) in try await authMetadata(path: "") { metadata.addString(value, forKey: key) }
    return metadata
  }

  func invalidateToken() { auth.invalidate() }

  private func authMetadata(path: String) async throws(EtcdError) -> [(String, String)] {
    guard let credentials = configuration.credentials, path != EtcdPaths.authenticate else { return [] }
    let token = try await auth.token { () async throws(EtcdError) -> String in
      let request = Etcdserverpb_AuthenticateRequest.with {
        $0.name = credentials.username
        $0.password = credentials.password
      }
      let response: Etcdserverpb_AuthenticateResponse = try await self.unary(
        EtcdPaths.authenticate, request, idempotent: true)
      return response.token
    }
    return [("token", token)]
  }

  static func makeSSLContext(_ tls: EtcdTLSConfiguration) throws(EtcdError) -> NIOSSLContext {
    var config = TLSConfiguration.makeClientConfiguration()
    config.applicationProtocols = ["h2"]
    do {
      config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tls.caFile))
    } catch {
      throw EtcdError(.tlsFailure, "cannot load CA file \"\(tls.caFile)\": \(error)", cause: error)
    }
    switch (tls.certificateFile, tls.keyFile) {
    case (let cert?, let key?):
      do {
        config.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
      } catch {
        throw EtcdError(.tlsFailure, "cannot load client certificate \"\(cert)\": \(error)", cause: error)
      }
      do {
        config.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
      } catch {
        throw EtcdError(.tlsFailure, "cannot load client key \"\(key)\": \(error)", cause: error)
      }
    case (nil, nil):
      break
    default:
      throw EtcdError(.invalidArgument, "a client certificate needs both a certificate file and a key file")
    }
    do { return try NIOSSLContext(configuration: config) } catch {
      throw EtcdError(.tlsFailure, "invalid TLS configuration: \(error)", cause: error)
    }
  }
}

/// The auth token shared by a client and its per-member views. Concurrent
/// callers that find no token share one Authenticate call (etcd hashes the
/// password with bcrypt, so a burst of them is expensive).
final class AuthState: Sendable {
  private struct State {
    var token: String?
    var pending: Task<String, any Error>?
  }
  private let box = NIOLockedValueBox(State())

  /// The current token, fetching one with `fetch` when there is none.
  func token(_ fetch: @escaping @Sendable () async throws(EtcdError) -> String) async throws(EtcdError) -> String {
    enum Next {
      case have(String)
      case wait(Task<String, any Error>)
    }
    let next: Next = box.withLockedValue { state in
      if let token = state.token { return .have(token) }
      if let pending = state.pending { return .wait(pending) }
      // Unstructured on purpose: every concurrent caller awaits this one fetch.
      let pending = Task { () async throws -> String in try await fetch() }
      state.pending = pending
      return .wait(pending)
    }
    switch next {
    case .have(let token):
      return token
    case .wait(let pending):
      do {
        let token = try await pending.value
        box.withLockedValue { state in
          if state.pending == pending {
            state.token = token
            state.pending = nil
          }
        }
        return token
      } catch {
        box.withLockedValue { state in if state.pending == pending { state.pending = nil } }
        throw error as? EtcdError ?? EtcdError(.authenticationFailed, "\(error)")
      }
    }
  }

  func invalidate() { box.withLockedValue { $0.token = nil } }
}

extension EtcdError {
  /// Converts whatever a streaming call threw into an ``EtcdError``.
  static func from(_ error: any Error, endpoint: EtcdEndpoint) -> EtcdError {
    if let e = error as? EtcdError { return e.at(endpoint) }
    if let rpc = error as? RPCError {
      if let inner = rpc.cause as? EtcdError { return inner.at(endpoint) }
      let status = Status.Code(rpc.code).rawValue
      if rpc.code == .unavailable, rpc.message.contains("unreachable") || rpc.message.contains("refused") {
        return EtcdError(.unreachable, rpc.message, endpoint: endpoint, cause: error)
      }
      if rpc.code == .unavailable, rpc.message.contains("closed") || rpc.message.contains("reset") {
        return EtcdError(.unreachable, rpc.message, endpoint: endpoint, cause: error)
      }
      return EtcdError.fromStatus(code: status, message: rpc.message, endpoint: endpoint)
    }
    if error is CancellationError { return EtcdError(.cancelled, "cancelled", endpoint: endpoint) }
    return EtcdError(.serverError, "\(error)", endpoint: endpoint, cause: error)
  }
}

/// gRPC paths of the unary methods (must match etcd's exactly).
enum EtcdPaths {
  static let range = "/etcdserverpb.KV/Range"
  static let put = "/etcdserverpb.KV/Put"
  static let deleteRange = "/etcdserverpb.KV/DeleteRange"
  static let txn = "/etcdserverpb.KV/Txn"
  static let compact = "/etcdserverpb.KV/Compact"
  static let leaseGrant = "/etcdserverpb.Lease/LeaseGrant"
  static let leaseRevoke = "/etcdserverpb.Lease/LeaseRevoke"
  static let leaseTimeToLive = "/etcdserverpb.Lease/LeaseTimeToLive"
  static let memberAdd = "/etcdserverpb.Cluster/MemberAdd"
  static let memberRemove = "/etcdserverpb.Cluster/MemberRemove"
  static let memberUpdate = "/etcdserverpb.Cluster/MemberUpdate"
  static let memberList = "/etcdserverpb.Cluster/MemberList"
  static let memberPromote = "/etcdserverpb.Cluster/MemberPromote"
  static let alarm = "/etcdserverpb.Maintenance/Alarm"
  static let status = "/etcdserverpb.Maintenance/Status"
  static let defragment = "/etcdserverpb.Maintenance/Defragment"
  static let hash = "/etcdserverpb.Maintenance/Hash"
  static let hashKV = "/etcdserverpb.Maintenance/HashKV"
  static let moveLeader = "/etcdserverpb.Maintenance/MoveLeader"
  static let authEnable = "/etcdserverpb.Auth/AuthEnable"
  static let authDisable = "/etcdserverpb.Auth/AuthDisable"
  static let authenticate = "/etcdserverpb.Auth/Authenticate"
  static let userAdd = "/etcdserverpb.Auth/UserAdd"
  static let userGrantRole = "/etcdserverpb.Auth/UserGrantRole"
}
