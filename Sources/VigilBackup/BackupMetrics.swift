import CoreMetrics

/// Backup metrics, through the swift-metrics API: `vigil_backup_last_success_timestamp_seconds{cluster}`,
/// `vigil_backup_last_verified_timestamp_seconds{cluster}`, `vigil_changelog_lag_seconds{cluster}`,
/// `vigil_backup_bytes{cluster}` (everything stored), `vigil_backup_failures_total{cluster,stage}`,
/// `vigil_changelog_gaps_total{cluster}`; a standby's `vigil_standby_lag_revisions{cluster,standby}`,
/// `vigil_standby_lag_seconds{cluster,standby}`, `vigil_standby_seeds_total{cluster,standby}`.
public struct BackupMetrics: Sendable {
  let factory: any MetricsFactory
  public init(factory: any MetricsFactory = MetricsSystem.factory) { self.factory = factory }

  func snapshotTaken(cluster: String, at: Double) {
    Gauge(label: "vigil_backup_last_success_timestamp_seconds", dimensions: [("cluster", cluster)], factory: factory).record(at)
  }
  func verified(cluster: String, at: Double) {
    Gauge(label: "vigil_backup_last_verified_timestamp_seconds", dimensions: [("cluster", cluster)], factory: factory).record(at)
  }
  func storedBytes(cluster: String, _ bytes: Int64) {
    Gauge(label: "vigil_backup_bytes", dimensions: [("cluster", cluster)], factory: factory).record(Double(bytes))
  }
  func changeLogLag(cluster: String, seconds: Double) {
    Gauge(label: "vigil_changelog_lag_seconds", dimensions: [("cluster", cluster)], factory: factory).record(seconds)
  }
  func snapshotFailed(cluster: String) {
    Counter(label: "vigil_backup_failures_total", dimensions: [("cluster", cluster), ("stage", "snapshot")], factory: factory).increment()
  }
  func verificationFailed(cluster: String) {
    Counter(label: "vigil_backup_failures_total", dimensions: [("cluster", cluster), ("stage", "verify")], factory: factory).increment()
  }
  func standbyLag(cluster: String, standby: String, revisions: Int64, seconds: Double) {
    let dimensions = [("cluster", cluster), ("standby", standby)]
    Gauge(label: "vigil_standby_lag_revisions", dimensions: dimensions, factory: factory).record(Double(revisions))
    Gauge(label: "vigil_standby_lag_seconds", dimensions: dimensions, factory: factory).record(seconds)
  }
  func standbySeeded(cluster: String, standby: String) {
    Counter(label: "vigil_standby_seeds_total", dimensions: [("cluster", cluster), ("standby", standby)], factory: factory).increment()
  }
  func compactionGap(cluster: String) {
    Counter(label: "vigil_changelog_gaps_total", dimensions: [("cluster", cluster)], factory: factory).increment()
  }
}
