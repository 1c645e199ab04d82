import CoreMetrics
import Prometheus
import VigilMonitor
import VigilRepair

/// Vigil's metrics in Prometheus form: the registry `/metrics` renders, and the swift-metrics factory that
/// feeds it, with the histogram buckets Vigil's timers are defined with. Each engine gets its own unless one
/// is passed in; `vigil serve` bootstraps the process's metrics system with its instance, so libraries'
/// metrics land there too.
public struct PrometheusMetrics: Sendable {
  public let registry: PrometheusCollectorRegistry
  public let factory: PrometheusMetricsFactory

  public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
    self.registry = registry
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.durationHistogramBuckets = VigilMetrics.durationBuckets.merging(RepairMetrics.durationBuckets) { a, _ in a }
    self.factory = factory
  }

  /// The text exposition of every metric.
  public func exposition() -> String { registry.emitToString() }
}
