import VigilCore
import VigilEtcd

/// The Nagios/Icinga plugin states, which every probe result maps onto.
public enum ProbeStatus: String, Sendable, Hashable, Codable {
  case ok = "OK"
  case warning = "WARNING"
  case critical = "CRITICAL"
  case unknown = "UNKNOWN"
}

/// One timed step of a probe (e.g. the put of a KV round trip).
public struct ProbeStep: Sendable, Hashable {
  public var name: String
  public var latency: Duration
  public var succeeded: Bool
}

/// What one probe run found.
public struct ProbeResult: Sendable, Hashable {
  public var probe: String
  /// What was probed: `cluster` or `cluster/member`.
  public var target: String
  public var status: ProbeStatus
  public var failure: ProbeFailureKind?
  /// The error, or the plugin's first line.
  public var message: String
  public var latency: Duration
  public var steps: [ProbeStep]
  /// Numbers the probe measured (member status fields, plugin performance data).
  public var metrics: [String: Double]
  /// `etcd.member`: the status the member answered with, and the alarms raised on it.
  public var memberStatus: EtcdMemberStatus? = nil
  public var memberAlarms: Set<String> = []

  /// OK and WARNING count as success for the detector; WARNING is still reported.
  public var succeeded: Bool { status == .ok || status == .warning }

  /// The detector's view of this result.
  public func observation(confirmation: Bool = false) -> ProbeObservation {
    succeeded
      ? ProbeObservation(succeeded: true, latency: latency, detail: message, isConfirmation: confirmation)
      : .failure(failure ?? .other, after: latency, detail: message, confirmation: confirmation)
  }
}

extension ProbeFailureKind {
  /// How an etcd client error looks to the detector.
  public init(_ error: EtcdError) {
    switch error.code {
    case .unreachable:
      self = error.message.contains("refused") ? .refused : .timeout
    case .timedOut:
      self = .timeout
    case .outcomeUnknown, .unavailable, .cancelled:
      self = .interrupted
    case .tlsFailure, .authenticationFailed, .permissionDenied:
      self = .security
    default:
      self = .badAnswer
    }
  }
}

/// Times async steps and builds a result.
struct StepTimer {
  let clock = ContinuousClock()
  let start: ContinuousClock.Instant
  var steps: [ProbeStep] = []

  init() { start = clock.now }

  /// Runs one step, recording its latency whether it succeeds or throws.
  mutating func step<T>(_ name: String, _ body: () async throws(EtcdError) -> T) async throws(EtcdError) -> T {
    let t0 = clock.now
    do {
      let value = try await body()
      steps.append(ProbeStep(name: name, latency: t0.duration(to: clock.now), succeeded: true))
      return value
    } catch {
      steps.append(ProbeStep(name: name, latency: t0.duration(to: clock.now), succeeded: false))
      throw error
    }
  }

  var elapsed: Duration { start.duration(to: clock.now) }
}
