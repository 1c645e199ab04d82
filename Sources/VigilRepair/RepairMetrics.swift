import Prometheus

/// Repair's metrics, on the registry `/metrics` exposes:
///
/// - `vigil_repairs_total{cluster,runbook,outcome}`, `vigil_repair_duration_seconds{cluster,runbook}` (histogram)
/// - `vigil_repair_escalations_total{cluster}`, `vigil_repair_paused{cluster}`
public struct RepairMetrics: Sendable {
  let registry: PrometheusCollectorRegistry
  static let durationBuckets: [Duration] = [
    .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(5), .seconds(10),
    .seconds(30), .seconds(60), .seconds(300),
  ]

  public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

  /// A repair plan ended (`outcome`: succeeded, failed, abandoned, rejected, dry-run).
  func repairEnded(cluster: String, runbook: String, outcome: String, seconds: Double?) {
    registry.makeCounter(
      name: "vigil_repairs_total", labels: [("cluster", cluster), ("runbook", runbook), ("outcome", outcome)]
    ).increment()
    if let seconds {
      registry.makeDurationHistogram(
        name: "vigil_repair_duration_seconds", labels: [("cluster", cluster), ("runbook", runbook)],
        buckets: Self.durationBuckets
      ).record(.nanoseconds(Int64(max(0, seconds) * 1e9)))
    }
  }

  /// Automatic repair handed a fault to a person (storm brake, retries exhausted, no runbook, unsafe).
  func repairEscalated(cluster: String) {
    registry.makeCounter(name: "vigil_repair_escalations_total", labels: [("cluster", cluster)]).increment()
  }

  /// Whether automatic repair of `cluster` is paused.
  func repairPaused(cluster: String, _ paused: Bool) {
    registry.makeGauge(name: "vigil_repair_paused", labels: [("cluster", cluster)]).set(to: paused ? 1.0 : 0.0)
  }
}
