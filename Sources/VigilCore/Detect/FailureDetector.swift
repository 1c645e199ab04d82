import Foundation

/// Tuning of the failure detector.
public struct DetectorSettings: Sendable, Hashable, Codable {
  /// Consecutive bad probes before healthy → suspect.
  public var failuresToSuspect: Int = 1
  /// Consecutive bad probes before the detector asks for a confirming re-probe;
  /// if that fails too, suspect → failed.
  public var failuresToFail: Int = 2
  /// Consecutive good probes before suspect/failed → healthy.
  public var successesToRecover: Int = 2
  /// A successful probe slower than the latency threshold counts as bad.
  public var slowIsBad: Bool = true
  /// mean + k·σ over the last `latencyWindow` good probes, never below `latencyFloor`.
  public var latencyK: Double = 4
  public var latencyWindow: Int = 64
  public var latencyFloor: Duration = .milliseconds(250)

  public init() {}
}

/// What the detector asks its shell to do.
public enum DetectorDirective: Sendable, Hashable {
  /// The state changed; record and publish it.
  case transition(HealthTransition)
  /// Probe this target again now, before declaring it failed.
  case confirm
}

/// A change of health state with the evidence that caused it.
public struct HealthTransition: Sendable, Hashable {
  public var from: HealthState
  public var to: HealthState
  /// Why: the observations that tipped it, newest last.
  public var evidence: [String]

  public init(from: HealthState, to: HealthState, evidence: [String]) {
    self.from = from
    self.to = to
    self.evidence = evidence
  }
}

/// Turns a stream of probe results for one target into a health state that
/// does not flap: consecutive bad results (failures, or successes slower
/// than an adaptive latency threshold) make it suspect, and only a failed
/// confirming re-probe makes it failed; consecutive good results bring it back.
///
/// Pure: no clock, no I/O. The shell feeds observations and carries out directives.
public struct FailureDetector: Sendable, Hashable {
  public let settings: DetectorSettings
  public private(set) var state: HealthState = .unknown
  public private(set) var consecutiveBad = 0
  public private(set) var consecutiveGood = 0
  /// True while a confirming re-probe has been requested and not yet answered.
  public private(set) var awaitingConfirmation = false
  public private(set) var baseline: LatencyBaseline
  /// The last five observations, as they came (turned into words only when a transition needs them:
  /// formatting every result cost more than the rest of the detector).
  private var recent: [Note] = []

  struct Note: Sendable, Hashable {
    var failure: ProbeFailureKind?
    var latency: Duration
    var detail: String
    /// The latency threshold a slow success went over; nil when it was not slow.
    var slowOver: Duration?

    var text: String {
      if let failure {
        return "probe failed (\(failure.rawValue)) after \(FailureDetector.ms(latency))" + (detail.isEmpty ? "" : ": \(detail)")
      }
      if let slowOver { return "probe took \(FailureDetector.ms(latency)), above the \(FailureDetector.ms(slowOver)) threshold" }
      return "probe succeeded in \(FailureDetector.ms(latency))"
    }
  }

  public init(settings: DetectorSettings = DetectorSettings()) {
    self.settings = settings
    self.baseline = LatencyBaseline(capacity: max(2, settings.latencyWindow), k: settings.latencyK, floor: settings.latencyFloor)
  }

  /// Feeds one observation.
  /// - Returns: what to do: publish a transition, and/or re-probe at once.
  public mutating func observe(_ o: ProbeObservation) -> [DetectorDirective] {
    let threshold = baseline.threshold
    // Latency is judged only once the baseline has seen enough good probes:
    // a cold start (connecting, granting a lease) is slow without being sick.
    let slow = o.succeeded && settings.slowIsBad && baseline.isTrained && o.latency > threshold
    let bad = !o.succeeded || slow
    if o.succeeded && !slow { baseline.add(o.latency) }
    remember(
      Note(
        failure: o.succeeded ? nil : (o.failure ?? .other), latency: o.latency, detail: o.succeeded ? "" : o.detail,
        slowOver: slow ? threshold : nil))

    var directives: [DetectorDirective] = []
    if bad {
      consecutiveBad += 1
      consecutiveGood = 0
      switch state {
      case .unknown, .healthy:
        if consecutiveBad >= settings.failuresToSuspect { move(to: .suspect, &directives) }
        if consecutiveBad >= settings.failuresToFail, !awaitingConfirmation {
          awaitingConfirmation = true
          directives.append(.confirm)
        }
      case .suspect:
        if awaitingConfirmation && o.isConfirmation {
          awaitingConfirmation = false
          move(to: .failed, &directives)
        } else if consecutiveBad >= settings.failuresToFail && !awaitingConfirmation {
          awaitingConfirmation = true
          directives.append(.confirm)
        }
      case .failed:
        break
      }
    } else {
      consecutiveGood += 1
      consecutiveBad = 0
      awaitingConfirmation = false
      switch state {
      case .unknown:
        move(to: .healthy, &directives)
      case .suspect, .failed:
        if consecutiveGood >= settings.successesToRecover { move(to: .healthy, &directives) }
      case .healthy:
        break
      }
    }
    return directives
  }

  private mutating func move(to next: HealthState, _ directives: inout [DetectorDirective]) {
    guard next != state else { return }
    directives.append(.transition(HealthTransition(from: state, to: next, evidence: recentEvidence)))
    state = next
  }

  private mutating func remember(_ note: Note) {
    if recent.count == 5 { recent.removeFirst() }
    recent.append(note)
  }

  /// The last five observations in words, oldest first.
  public var recentEvidence: [String] { recent.map(\.text) }

  static func ms(_ d: Duration) -> String {
    let v = d.seconds * 1000
    return v < 10 ? String(format: "%.2f ms", v) : String(format: "%.0f ms", v)
  }
}

