/// What repair needs from detection, and no more: each cluster's view as the
/// planner reads it, a place to note what repair did in an incident, and a
/// fresh look at a cluster after a change. The monitor provides it; repair
/// does not depend on the monitor.
public protocol RepairWatch: Sendable {
  /// The cluster's members, health, diagnoses and open incidents; nil for an unknown cluster.
  func repairView(cluster: String) async -> ClusterRepairView?
  /// Adds a repair event (`recovered`: the fault is gone) to incident `id`.
  func recordRepair(incident id: Int64, text: String, at: Double, recovered: Bool) async
  /// Re-reads the cluster's membership and probes it now (after a repair changed it).
  func refreshNow(cluster: String) async
  /// The cluster was restored from backup into a new cluster: forget the old member and cluster ids.
  func clusterRebuilt(cluster: String) async
}
