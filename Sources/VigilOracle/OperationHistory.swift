import VigilCore

/// What a recorded client operation did to the key-value store.
public enum OperationKind: String, Sendable, Hashable, Codable {
  /// Write a unique value to a register key (overwrites).
  case put
  /// Read a key.
  case get
  /// Compare-and-swap: write `value` if the key holds `expected` (nil: absent).
  case cas
  /// Write a unique value to a key nobody else writes (the set workload: it must be there at the end).
  case insert
}

/// How an operation ended, as the client saw it.
public enum OperationOutcome: String, Sendable, Hashable, Codable {
  /// Acknowledged: it took effect (a write) or returned this value (a read).
  case ok
  /// Refused before it could take effect (connection refused, NOSPACE…): it did not happen.
  case failed
  /// Timed out or cut off: it may or may not have taken effect.
  case unknown
}

/// A read's consistency level.
public enum ReadConsistency: String, Sendable, Hashable, Codable {
  case linearizable, serializable
}

/// One client operation with its invoke and complete times (seconds since the drill began).
public struct RecordedOperation: Sendable, Hashable, Codable {
  public var id: Int
  /// The client that issued it ("m1", "cluster-a", …).
  public var client: String
  public var kind: OperationKind
  public var key: String
  /// The value written (put, insert) or swapped in (cas).
  public var value: String?
  /// The value a cas compares against (nil: the key is absent).
  public var expected: String?
  /// A get's consistency.
  public var consistency: ReadConsistency?
  public var invokedAt: Double
  /// When the client knew the outcome (for unknown: when it gave up).
  public var completedAt: Double
  public var outcome: OperationOutcome
  /// A get's result (nil: absent).
  public var read: String?
  /// A cas's result.
  public var succeeded: Bool?
  public var error: String?

  public init(
    id: Int, client: String, kind: OperationKind, key: String, value: String? = nil, expected: String? = nil,
    consistency: ReadConsistency? = nil, invokedAt: Double, completedAt: Double, outcome: OperationOutcome,
    read: String? = nil, succeeded: Bool? = nil, error: String? = nil
  ) {
    self.id = id
    self.client = client
    self.kind = kind
    self.key = key
    self.value = value
    self.expected = expected
    self.consistency = consistency
    self.invokedAt = invokedAt
    self.completedAt = completedAt
    self.outcome = outcome
    self.read = read
    self.succeeded = succeeded
    self.error = error
  }

  public var isWrite: Bool { kind != .get }
  public var latency: Double { completedAt - invokedAt }

  /// One line for a person: `0.412–0.415 m2 put k3 ← "v17" ok`.
  public var summary: String {
    let span = "\(Self.format(invokedAt))–\(outcome == .unknown ? "?" : Self.format(completedAt))"
    let what: String
    switch kind {
    case .put, .insert: what = "\(kind.rawValue) \(key) ← \(Self.show(value))"
    case .get: what = "get(\(consistency?.rawValue ?? "linearizable")) \(key) → \(Self.show(read))"
    case .cas:
      let result = succeeded.map { $0 ? " → swapped" : " → not swapped" } ?? ""
      what = "cas \(key) \(Self.show(expected)) → \(Self.show(value))\(result)"
    }
    return "\(span) \(client) \(what) [\(outcome.rawValue)]"
  }

  static func show(_ v: String?) -> String { v.map { "\"\($0)\"" } ?? "absent" }
  static func format(_ t: Double) -> String {
    let ms = Int((t * 1000).rounded())
    return "\(ms / 1000).\(String(repeating: "0", count: 3 - String(ms % 1000).count))\(ms % 1000)s"
  }
}
