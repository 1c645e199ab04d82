import VigilCoordination
import VigilRepair

extension Engine {
  /// Makes this engine one replica among several, through `coordinator` (its loops are the caller's to run):
  /// the monitor probes and records only the clusters whose shard the replica owns (those of shards just taken
  /// at once), repair plans only for them with every step fenced, and a shard given up is handed over once no
  /// plan of its clusters runs here.
  public func coordinate(with coordinator: ReplicaCoordinator) async {
    let map = coordinator.map
    let clusters = clients.map(\.name)
    let monitor = self.monitor
    let repairs = self.repairs
    await coordinator.observe(release: { shards in
      // Hand over only once no plan of those clusters runs here (each stops at its next step: its fence fails).
      let leaving = Set(clusters.filter { shards.contains(map.shard(of: $0)) })
      return leaving.isDisjoint(with: await repairs.busyClusters)
    })
    await monitor.share(ownership: { await coordinator.owns($0) })
    await coordinator.observe(taken: { shards in
      for cluster in clusters where shards.contains(map.shard(of: cluster)) {
        await monitor.trigger(cluster: cluster, reason: "taken over")
      }
    })
    await repairs.share(
      RepairOwnership(
        replica: coordinator.settings.replicaID, owns: { await coordinator.owns($0) },
        fence: { cluster, step in _ = try await coordinator.fence(cluster: cluster, step: step) },
        ended: { cluster, plan in await coordinator.forget(cluster: cluster, plan: plan) }))
  }
}
