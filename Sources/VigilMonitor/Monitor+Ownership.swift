import Foundation
import VigilCore

extension Monitor {
  /// With several replicas: this replica probes, inspects and records only the clusters whose shard it owns
  /// (`owns`, asked before each turn). A cluster it takes over continues the incidents its last guard left open
  /// in the shared store; one it hands over keeps its incidents open for the next guard.
  public func share(ownership owns: @escaping @Sendable (String) async -> Bool) {
    ownership = owns
    guardedHere = []
  }

  /// Whether this replica guards `cluster` now (always, without replicas); takes on or lets go of its incidents
  /// when that changed since the last turn.
  func guards(_ cluster: String) async -> Bool {
    guard let ownership else { return true }
    let owned = await ownership(cluster)
    if owned, !guardedHere.contains(cluster) {
      // One loop adopts; the cluster's other loops wait a turn meanwhile.
      guard adopting.insert(cluster).inserted else { return false }
      let left = (try? await store.incidents(openOnly: true, cluster: cluster, limit: 10_000)) ?? []
      watch.adopt(left)
      // The member list as it is now (it was not read while another replica guarded the cluster).
      await refreshMembership(cluster)
      adopting.remove(cluster)
      guardedHere.insert(cluster)
      logger.info("guarding", metadata: ["cluster": "\(cluster)", "incidents.adopted": "\(left.count)"])
    } else if !owned, guardedHere.remove(cluster) != nil {
      watch.letGo(cluster: cluster)
      logger.info("no longer guarding: another replica owns it", metadata: ["cluster": "\(cluster)"])
    }
    return owned
  }

  /// Clusters this replica guards now (every cluster without replicas).
  public var guardedClusters: [String] { ownership == nil ? clusterNames : guardedHere.sorted() }

  /// Probe targets running now (of guarded and unguarded clusters alike).
  public var targetCount: Int { targets.count }

  /// A probe turn skipped because another replica guards the target's cluster: it counts for readiness.
  func skipped(_ target: ProbeTarget) {
    if !isReady, firstRound.remove(target.key) != nil, firstRound.isEmpty { isReady = true }
  }
}
