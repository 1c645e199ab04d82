import CoreMetrics
import NIOConcurrencyHelpers
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
/// - `vigil_log_signatures_total{cluster,member,signal}`: member log lines that matched a known etcd signature
/// - `vigil_probe_lag_seconds`: histogram of how late probes start after they were due (``ProbeLag``)
///
/// Repair keeps its own (`RepairMetrics`) and liveness its own (`Liveness`), through the same factory.
///
/// Written through the swift-metrics API: which backend collects them is the caller's choice (the engine
/// feeds a Prometheus registry, which `vigil serve` also bootstraps as the process's metrics system).
public final class VigilMetrics: Sendable {
  let factory: any MetricsFactory
  private let render: (@Sendable () -> String)?
  /// Histogram buckets of Vigil's timers by metric name, for the backend to apply.
  public static let durationBuckets: [String: [Duration]] = [
    "vigil_probe_duration_seconds": latencyBuckets, "vigil_detection_seconds": detectionBuckets,
    "vigil_probe_lag_seconds": latencyBuckets,
  ]
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
    let duration: CoreMetrics.Timer
  }
  private let probeSeries = NIOLockedValueBox<[String: ProbeSeries]>([:])
  private let findingGauges = NIOLockedValueBox<[String: Gauge]>([:])

  /// - Parameters:
  ///   - factory: where the metrics go (the process's metrics system by default).
  ///   - exposition: renders everything the backend collected (`/metrics`), when it can.
  public init(factory: any MetricsFactory = MetricsSystem.factory, exposition: (@Sendable () -> String)? = nil) {
    self.factory = factory
    self.render = exposition
    self.probeLag = ProbeLag(factory: factory)
  }

  /// How late probes start.
  public let probeLag: ProbeLag

  /// The text exposition of every metric the backend collected ("" when it cannot render one).
  public func exposition() -> String { render?() ?? "" }

  func probe(cluster: String, subject: String, probe: String, ok: Bool, latency: Duration) {
    let key = "\(cluster)\u{0}\(subject)\u{0}\(probe)"
    let series = probeSeries.withLockedValue { all -> ProbeSeries in
      if let s = all[key] { return s }
      let labels = [("cluster", cluster), ("subject", subject), ("probe", probe)]
      let s = ProbeSeries(
        ok: Counter(label: "vigil_probe_runs_total", dimensions: labels + [("result", "ok")], factory: factory),
        failed: Counter(label: "vigil_probe_runs_total", dimensions: labels + [("result", "failed")], factory: factory),
        success: Gauge(label: "vigil_probe_success", dimensions: labels, factory: factory),
        duration: CoreMetrics.Timer(label: "vigil_probe_duration_seconds", dimensions: labels, factory: factory))
      all[key] = s
      return s
    }
    (ok ? series.ok : series.failed).increment()
    series.success.record(ok ? 1.0 : 0.0)
    series.duration.recordNanoseconds(latency.nanoseconds)
  }

  func logMatched(cluster: String, member: String, signal: LogSignal) {
    Counter(
      label: "vigil_log_signatures_total",
      dimensions: [("cluster", cluster), ("member", member), ("signal", signal.rawValue)], factory: factory
    ).increment()
  }

  func health(cluster: String, subject: String, state: HealthState) {
    for s in HealthState.allCases {
      Gauge(
        label: "vigil_health_state", dimensions: [("cluster", cluster), ("subject", subject), ("state", s.rawValue)],
        factory: factory
      ).record(s == state ? 1.0 : 0.0)
    }
  }

  func findings(cluster: String, _ findings: [Finding]) {
    var counts: [String: Int] = [:]
    for f in findings { counts["\(f.check)\u{0}\(f.severity.rawValue)", default: 0] += 1 }
    findingGauges.withLockedValue { gauges in
      for (key, gauge) in gauges where key.hasPrefix(cluster + "\u{0}") { gauge.record(0.0) }
      for (key, n) in counts {
        let parts = key.split(separator: "\u{0}").map(String.init)
        let full = "\(cluster)\u{0}\(key)"
        let gauge =
          gauges[full]
          ?? Gauge(
            label: "vigil_findings", dimensions: [("cluster", cluster), ("check", parts[0]), ("severity", parts[1])],
            factory: factory)
        gauges[full] = gauge
        gauge.record(Double(n))
      }
    }
  }

  func incidents(cluster: String, open: Int) {
    Gauge(label: "vigil_incidents_open", dimensions: [("cluster", cluster)], factory: factory).record(Double(open))
  }

  func incidentOpened(cluster: String) {
    Counter(label: "vigil_incidents_total", dimensions: [("cluster", cluster)], factory: factory).increment()
  }

  func detected(cluster: String, after seconds: Double) {
    CoreMetrics.Timer(label: "vigil_detection_seconds", dimensions: [("cluster", cluster)], factory: factory)
      .recordNanoseconds(Int64(max(0, seconds) * 1e9))
  }
}
