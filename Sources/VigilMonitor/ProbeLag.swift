import CoreMetrics
import NIOConcurrencyHelpers

/// How late probes start: from the moment a probe loop meant to run (its wait over) to the moment its probe
/// started (past the concurrency limiter). Kept as `vigil_probe_lag_seconds` and, for the fleet benchmark, as
/// raw samples it drains.
public final class ProbeLag: Sendable {
  private let samples = NIOLockedValueBox<[Double]>([])
  private let timer: CoreMetrics.Timer
  /// Samples kept between drains (beyond it, the newest are dropped: a benchmark drains often enough).
  let capacity = 1_000_000

  init(factory: any MetricsFactory) {
    timer = CoreMetrics.Timer(label: "vigil_probe_lag_seconds", dimensions: [], factory: factory)
  }

  func record(_ lag: Duration) {
    let seconds = max(0, Double(lag.components.seconds) + Double(lag.components.attoseconds) / 1e18)
    timer.recordSeconds(seconds)
    samples.withLockedValue { if $0.count < capacity { $0.append(seconds) } }
  }

  /// The samples since the last drain, in seconds; starts a new window.
  public func drain() -> [Double] {
    samples.withLockedValue { all in
      defer { all = [] }
      return all
    }
  }
}
