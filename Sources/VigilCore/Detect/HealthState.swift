/// What Vigil believes about a member or a cluster.
public enum HealthState: String, Sendable, Hashable, Codable, CaseIterable {
  /// No verdict yet (nothing observed, or observations stopped).
  case unknown
  case healthy
  /// Something looks wrong; not yet confirmed. Nothing disruptive happens in this state.
  case suspect
  /// Confirmed down: consecutive failures, the last one a confirming re-probe.
  case failed
}

/// How one probe attempt ended, as the detector sees it.
public enum ProbeFailureKind: String, Sendable, Hashable, Codable {
  /// The connection was refused: nothing listens (a crashed process).
  case refused
  /// No answer before the deadline (a hung or partitioned member).
  case timeout
  /// The connection broke mid-call.
  case interrupted
  /// TLS or authentication failed.
  case security
  /// The target answered, but with an error or a wrong result.
  case badAnswer
  /// Anything else.
  case other
}

/// One probe result fed to the detector.
public struct ProbeObservation: Sendable, Hashable {
  public var succeeded: Bool
  /// End-to-end latency of the probe (for a failure: how long until it failed).
  public var latency: Duration
  public var failure: ProbeFailureKind?
  /// A short human text: the error, or what was checked.
  public var detail: String
  /// True when this result answers the detector's request for a confirming re-probe.
  public var isConfirmation: Bool

  public init(
    succeeded: Bool, latency: Duration, failure: ProbeFailureKind? = nil, detail: String = "",
    isConfirmation: Bool = false
  ) {
    self.succeeded = succeeded
    self.latency = latency
    self.failure = succeeded ? nil : (failure ?? .other)
    self.detail = detail
    self.isConfirmation = isConfirmation
  }

  public static func success(_ latency: Duration, detail: String = "") -> ProbeObservation {
    ProbeObservation(succeeded: true, latency: latency, detail: detail)
  }

  public static func failure(
    _ kind: ProbeFailureKind, after latency: Duration, detail: String = "", confirmation: Bool = false
  ) -> ProbeObservation {
    ProbeObservation(succeeded: false, latency: latency, failure: kind, detail: detail, isConfirmation: confirmation)
  }
}
