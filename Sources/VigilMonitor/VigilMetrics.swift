import NIOConcurrencyHelpers
import Prometheus
import VigilCore

/// Vigil's Prometheus metrics, exposed at `/metrics`.
///
/// - `vigil_probe_runs_total{cluster,subject,probe,result}`: probe runs by result (`ok`, `failed`)
/// - `vigil_probe_success{cluster,subject,probe}`: 1 if the last run succeeded
/// - `vigil_probe_duration_seconds{cluster,subject,probe}`: histogram of probe latency
/// - `vigil_health_state{cluster,subject,state}`: 1 for the subject's current state
/// - `vigil_findings{cluster,check,severity}`: findings of the latest inspection
/// - `vigil_incidents_open{cluster}`, `vigil_incidents_total{cluster}`
/// - `vigil_detection_seconds{cluster}`: histogram of time to detect (incident onset → failed)
///
/// Repair keeps its own (`RepairMetrics`) and liveness its own (`Liveness`) on the same registry.
public final class VigilMetrics: Sendable {
  public let registry = PrometheusCollectorRegistry()
  static let latencyBuckets: [Duration] = [
    .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
    .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
  ]
  static let detectionBuckets: [Duration] = [
    .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(5), .seconds(10),
    .seconds(30), .seconds(60), .seconds(300),
  ]

  struct ProbeSeries: Sendable {
    let ok: Counter
    let failed: Counter
    let success: Gauge
    let duration: DurationHistogram
  }
  private let probeSeries = NIOLockedValueBox<[String: ProbeSeries]>([:])
  private let findingGauges = NIOLockedValueBox<[String: Gauge]>([:])

  public init() {}

  /// The text exposition of every metric.
  public func exposition() -> String { registry.emitToString() }

  func probe(cluster: String, subject: String, probe: String, ok: Bool, latency: Duration) {
    let key = "\(cluster)\u{0}\(subject)\u{0}\(probe)"
    let series = probeSeries.withLockedValue { all -> ProbeSeries in
      if let s = all[key] { return s }
      let labels = [("cluster", cluster), ("subject", subject), ("probe", probe)]
      let s = ProbeSeries(
        ok: registry.makeCounter(name: "vigil_probe_runs_total", labels: labels + [("result", "ok")]),
        failed: registry.makeCounter(name: "vigil_probe_runs_total", labels: labels + [("result", "failed")]),
        success: registry.makeGauge(name: "vigil_probe_success", labels: labels),
        duration: registry.makeDurationHistogram(
          name: "vigil_probe_duration_seconds", labels: labels, buckets: Self.latencyBuckets))
      all[key] = s
      return s
    }
    (ok ? series.ok : series.failed).increment()
    series.success.set(to: ok ? 1.0 : 0.0)
    series.duration.record(latency)
  }

  func health(cluster: String, subject: String, state: HealthState) {
    for s in HealthState.allCases {
      registry.makeGauge(name: "vigil_health_state", labels: [("cluster", cluster), ("subject", subject), ("state", s.rawValue)])
        .set(to: s == state ? 1.0 : 0.0)
    }
  }

  func findings(cluster: String, _ findings: [Finding]) {
    var counts: [String: Int] = [:]
    for f in findings { counts["\(f.check)\u{0}\(f.severity.rawValue)", default: 0] += 1 }
    findingGauges.withLockedValue { gauges in
      for (key, gauge) in gauges where key.hasPrefix(cluster + "\u{0}") { gauge.set(to: 0.0) }
      for (key, n) in counts {
        let parts = key.split(separator: "\u{0}").map(String.init)
        let full = "\(cluster)\u{0}\(key)"
        let gauge =
          gauges[full]
          ?? registry.makeGauge(
            name: "vigil_findings", labels: [("cluster", cluster), ("check", parts[0]), ("severity", parts[1])])
        gauges[full] = gauge
        gauge.set(to: Double(n))
      }
    }
  }

  func incidents(cluster: String, open: Int) {
    registry.makeGauge(name: "vigil_incidents_open", labels: [("cluster", cluster)]).set(to: Double(open))
  }

  func incidentOpened(cluster: String) {
    registry.makeCounter(name: "vigil_incidents_total", labels: [("cluster", cluster)]).increment()
  }

  func detected(cluster: String, after seconds: Double) {
    registry.makeDurationHistogram(
      name: "vigil_detection_seconds", labels: [("cluster", cluster)], buckets: Self.detectionBuckets
    ).record(.nanoseconds(Int64(max(0, seconds) * 1e9)))
  }
}
