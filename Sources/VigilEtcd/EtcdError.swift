/// Every failure the etcd client reports. The message names the endpoint and
/// what failed; `code` lets callers branch without parsing text.
public struct EtcdError: Error, Sendable, CustomStringConvertible {
  /// A small, extensible set of failure kinds.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    let name: String
    public var description: String { name }

    /// No connection could be made (refused, no route, connect timeout).
    public static let unreachable = Code(name: "unreachable")
    /// The call did not finish before its deadline.
    public static let timedOut = Code(name: "timed out")
    /// TLS handshake or certificate verification failed.
    public static let tlsFailure = Code(name: "TLS failure")
    /// The user is authenticated but lacks permission.
    public static let permissionDenied = Code(name: "permission denied")
    /// Authentication failed (wrong user or password, or auth required).
    public static let authenticationFailed = Code(name: "authentication failed")
    /// The cluster raised the NOSPACE alarm; writes are refused until it is cleared.
    public static let noSpace = Code(name: "NOSPACE alarm")
    /// The requested revision was compacted away.
    public static let compacted = Code(name: "compacted revision")
    /// A write was sent but the connection failed before its outcome was known:
    /// it may or may not have been applied. Never retried automatically.
    public static let outcomeUnknown = Code(name: "outcome unknown")
    /// The member answered but cannot serve now (no leader, stopping, learner…).
    public static let unavailable = Code(name: "unavailable")
    /// Bad input from the caller (malformed endpoint, empty key, …).
    public static let invalidArgument = Code(name: "invalid argument")
    /// A named thing does not exist (member, lease…).
    public static let notFound = Code(name: "not found")
    /// The request conflicts with the cluster's state (e.g. learner not caught up).
    public static let failedPrecondition = Code(name: "failed precondition")
    /// The call was cancelled by the caller.
    public static let cancelled = Code(name: "cancelled")
    /// The peer spoke something that is not etcd's gRPC API.
    public static let protocolError = Code(name: "protocol error")
    /// Any other error status etcd returned.
    public static let serverError = Code(name: "server error")
  }

  public var code: Code
  public var message: String
  /// The member the failure came from, when one is known.
  public var endpoint: EtcdEndpoint?
  /// The gRPC status code etcd returned, if any.
  public var grpcStatus: Int?
  public var cause: (any Error)?

  public init(
    _ code: Code, _ message: String, endpoint: EtcdEndpoint? = nil, grpcStatus: Int? = nil, cause: (any Error)? = nil
  ) {
    self.code = code
    self.message = message
    self.endpoint = endpoint
    self.grpcStatus = grpcStatus
    self.cause = cause
  }

  public var description: String {
    if let endpoint { return "etcd \(endpoint): \(code): \(message)" }
    return "\(code): \(message)"
  }

  func at(_ endpoint: EtcdEndpoint) -> EtcdError {
    var copy = self
    if copy.endpoint == nil { copy.endpoint = endpoint }
    return copy
  }
}

/// gRPC status codes (the subset Vigil branches on).
enum GRPCStatusCode {
  static let ok = 0
  static let cancelled = 1
  static let unknown = 2
  static let invalidArgument = 3
  static let deadlineExceeded = 4
  static let notFound = 5
  static let alreadyExists = 6
  static let permissionDenied = 7
  static let resourceExhausted = 8
  static let failedPrecondition = 9
  static let aborted = 10
  static let outOfRange = 11
  static let unimplemented = 12
  static let `internal` = 13
  static let unavailable = 14
  static let unauthenticated = 16
}

extension EtcdError {
  /// Maps a gRPC status from etcd to a Vigil error, using etcd's well-known messages.
  static func fromStatus(code: Int, message: String, endpoint: EtcdEndpoint?) -> EtcdError {
    let m = message
    let kind: Code
    switch code {
    case _ where m.contains("database space exceeded"): kind = .noSpace
    case _ where m.contains("has been compacted"): kind = .compacted
    case _ where m.contains("invalid auth token") || m.contains("authentication failed")
      || m.contains("user name is empty") || m.contains("user name not found"):
      kind = .authenticationFailed
    case GRPCStatusCode.permissionDenied: kind = .permissionDenied
    case GRPCStatusCode.unauthenticated: kind = .authenticationFailed
    case GRPCStatusCode.invalidArgument, GRPCStatusCode.outOfRange: kind = .invalidArgument
    case GRPCStatusCode.notFound: kind = .notFound
    case GRPCStatusCode.failedPrecondition: kind = .failedPrecondition
    case GRPCStatusCode.unavailable: kind = .unavailable
    case GRPCStatusCode.deadlineExceeded: kind = .timedOut
    case GRPCStatusCode.cancelled: kind = .cancelled
    case GRPCStatusCode.unimplemented: kind = .protocolError
    default: kind = .serverError
    }
    return EtcdError(kind, m.isEmpty ? "gRPC status \(code)" : m, endpoint: endpoint, grpcStatus: code)
  }

  /// True for etcd's "the token expired, authenticate again" answer.
  var isInvalidAuthToken: Bool { message.contains("invalid auth token") }
}
