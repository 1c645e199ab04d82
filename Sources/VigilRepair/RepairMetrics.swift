import CoreMetrics

/// Repair's metrics, through the swift-metrics API (the same factory as the monitor's):
///
/// - `vigil_repairs_total{cluster,runbook,outcome}`, `vigil_repair_duration_seconds{cluster,runbook}` (histogram)
/// - `vigil_repair_escalations_total{cluster}`, `vigil_repair_paused{cluster}`
public struct RepairMetrics: Sendable {
  let factory: any MetricsFactory
  /// Histogram buckets of repair's timers by metric name, for the backend to apply.
  public static let durationBuckets: [String: [Duration]] = [
    "vigil_repair_duration_seconds": [
      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(5), .seconds(10),
      .seconds(30), .seconds(60), .seconds(300),
    ]
  ]

  public init(factory: any MetricsFactory = MetricsSystem.factory) { self.factory = factory }

  /// A repair plan ended (`outcome`: succeeded, failed, abandoned, rejected, dry-run).
  func repairEnded(cluster: String, runbook: String, outcome: String, seconds: Double?) {
    Counter(
      label: "vigil_repairs_total", dimensions: [("cluster", cluster), ("runbook", runbook), ("outcome", outcome)],
      factory: factory
    ).increment()
    if let seconds {
      Timer(label: "vigil_repair_duration_seconds", dimensions: [("cluster", cluster), ("runbook", runbook)], factory: factory)
        .recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }
  }

  /// Automatic repair handed a fault to a person (storm brake, retries exhausted, no runbook, unsafe).
  func repairEscalated(cluster: String) {
    Counter(label: "vigil_repair_escalations_total", dimensions: [("cluster", cluster)], factory: factory).increment()
  }

  /// Whether automatic repair of `cluster` is paused.
  func repairPaused(cluster: String, _ paused: Bool) {
    Gauge(label: "vigil_repair_paused", dimensions: [("cluster", cluster)], factory: factory).record(paused ? 1.0 : 0.0)
  }
}
