import Foundation
import NIOConcurrencyHelpers
import CoreMetrics
import VigilCore

/// Vigil watching itself: every long-running loop (each probe target, each
/// cluster's membership and inspection loops, the history writer, the repair
/// coordinator) registers here and reports each turn; ``verdict()`` says
/// which have stalled. `/healthz`, the systemd watchdog and the internal
/// watchdog read it; `vigil_loop_last_turn_timestamp_seconds{loop}` and
/// `vigil_stalled_loops` publish it.
///
/// A test can stall a loop for real with ``hold(prefix:)``: the loop's next
/// ``checkpoint(_:)`` waits until ``release()`` (or until the loop is cancelled).
public final class Liveness: Sendable {
  private struct State {
    var book: LoopLiveness
    var gauges: [String: Gauge] = [:]
    var heldPrefixes: [String] = []
    var held: [AsyncStream<Never>.Continuation] = []
  }
  private let state: NIOLockedValueBox<State>
  private let factory: (any MetricsFactory)?
  private let stalledGauge: Gauge?
  private let now: @Sendable () -> Double

  /// - Parameters:
  ///   - metrics: where the loop metrics go, through the swift-metrics API (nil: none).
  ///   - now: seconds since 1970 (injected in tests).
  public init(
    settings: LivenessSettings = LivenessSettings(), metrics factory: (any MetricsFactory)? = nil,
    now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
  ) {
    self.state = NIOLockedValueBox(State(book: LoopLiveness(settings: settings)))
    self.factory = factory
    // Vigil's own loops that have not turned for several of their periods.
    self.stalledGauge = factory.map { Gauge(label: "vigil_stalled_loops", factory: $0) }
    self.now = now
  }

  public var settings: LivenessSettings { state.withLockedValue { $0.book.settings } }

  /// Starts watching `loop`, whose healthy turns take at most `period`.
  public func register(_ loop: String, period: Duration) {
    let at = now()
    let gauge = state.withLockedValue { s -> Gauge? in
      s.book.register(loop, period: period, at: at)
      if let g = s.gauges[loop] { return g }
      guard let factory else { return nil }
      let g = Gauge(label: "vigil_loop_last_turn_timestamp_seconds", dimensions: [("loop", loop)], factory: factory)
      s.gauges[loop] = g
      return g
    }
    gauge?.record(at)
  }

  /// Records a turn of `loop`.
  public func turned(_ loop: String) {
    let at = now()
    let gauge = state.withLockedValue { s -> Gauge? in
      s.book.turned(loop, at: at)
      return s.gauges[loop]
    }
    gauge?.record(at)
  }

  /// Stops watching `loop` (it ended on purpose: a member left, the monitor stopped).
  public func remove(_ loop: String) {
    let gauge = state.withLockedValue { s -> Gauge? in
      s.book.remove(loop)
      return s.gauges.removeValue(forKey: loop)
    }
    gauge?.destroy()
  }

  /// Loops watched now.
  public var loops: [String] { state.withLockedValue { $0.book.names } }

  /// How many times `loop` turned since it was registered.
  public func turns(of loop: String) -> Int { state.withLockedValue { $0.book.turns(of: loop) } }

  /// Loops that have stalled, the longest silent first; also updates `vigil_stalled_loops`.
  public func stalled() -> [StalledLoop] {
    let at = now()
    let found = state.withLockedValue { $0.book.stalled(at: at) }
    stalledGauge?.record(Double(found.count))
    return found
  }

  /// The watchdog's decision now; also updates `vigil_stalled_loops`.
  public func verdict() -> LoopLiveness.Verdict {
    let at = now()
    let verdict = state.withLockedValue { $0.book.verdict(at: at) }
    switch verdict {
    case .alive: stalledGauge?.record(0.0)
    case .stalled(let s), .giveUp(let s): stalledGauge?.record(Double(s.count))
    }
    return verdict
  }

  // MARK: test hook

  /// Where a loop may be held by a test; returns at once unless a test holds it.
  public func checkpoint(_ loop: String) async {
    let stream = state.withLockedValue { s -> AsyncStream<Never>? in
      guard s.heldPrefixes.contains(where: { loop.hasPrefix($0) }) else { return nil }
      let (stream, continuation) = AsyncStream<Never>.makeStream()
      s.held.append(continuation)
      return stream
    }
    guard let stream else { return }
    // Ends when released (the continuation finishes) or when this task is cancelled.
    for await _ in stream {}
  }

  /// Holds every loop whose name starts with `prefix` at its next checkpoint (tests only).
  public func hold(prefix: String) {
    state.withLockedValue { $0.heldPrefixes.append(prefix) }
  }

  /// Lets every held loop go on.
  public func release() {
    let held = state.withLockedValue { s -> [AsyncStream<Never>.Continuation] in
      s.heldPrefixes = []
      defer { s.held = [] }
      return s.held
    }
    for c in held { c.finish() }
  }
}
