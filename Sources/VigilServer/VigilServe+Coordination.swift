import Foundation
import Logging
import VigilConfig
import VigilCoordination
import VigilEtcd
import VigilLoops
import VigilMonitor
import VigilRepair

extension VigilServe {
  /// With `coordination:` set: this replica's coordinator on the management etcd, wired into the monitor
  /// (it probes and records only the clusters whose shard it owns) and repair (plans only for those, every
  /// step fenced, a shard handed over once no plan of its clusters runs here). Nil without coordination.
  static func coordinate(
    _ configuration: VigilConfiguration, monitor: Monitor, repairs: RepairCoordinator, logger: Logger
  ) async throws -> (coordinator: ReplicaCoordinator, client: EtcdClient)? {
    guard let c = configuration.coordination else { return nil }
    var tls: EtcdTLSConfiguration?
    if let t = c.tls { tls = EtcdTLSConfiguration(caFile: t.ca, certificateFile: t.cert, keyFile: t.key) }
    let client: EtcdClient
    do {
      client = try EtcdClient(
        configuration: EtcdClientConfiguration(endpoints: try c.endpoints.map { try EtcdEndpoint(parsing: $0) }, tls: tls),
        logger: logger)
    } catch {
      throw ServeError(description: "coordination.endpoints: \(error)")
    }
    var settings = ReplicaCoordinator.Settings(
      replicaID: c.replicaID, ttl: Int64(c.leaseTTL.duration.seconds), shards: c.shards, prefix: c.prefix)
    settings.turn = .milliseconds(max(100, Int64(c.leaseTTL.duration.seconds * 1000) / 10))
    let coordinator = ReplicaCoordinator(client: client, settings: settings, liveness: monitor.liveness, logger: logger)
    let map = coordinator.map
    let clusters = configuration.clusters.map(\.name)
    await coordinator.observe(release: { shards in
      // Hand over only once no plan of those clusters runs here (each stops at its next step: its fence fails).
      let leaving = Set(clusters.filter { shards.contains(map.shard(of: $0)) })
      return leaving.isDisjoint(with: await repairs.busyClusters)
    })
    await monitor.share(ownership: { await coordinator.owns($0) })
    // Clusters of shards just taken are probed at once (their loops would otherwise wait out their interval).
    await coordinator.observe(taken: { shards in
      for cluster in clusters where shards.contains(map.shard(of: cluster)) {
        await monitor.trigger(cluster: cluster, reason: "taken over")
      }
    })
    await repairs.share(
      RepairOwnership(
        replica: c.replicaID, owns: { await coordinator.owns($0) },
        fence: { cluster, step in _ = try await coordinator.fence(cluster: cluster, step: step) },
        ended: { cluster, plan in await coordinator.forget(cluster: cluster, plan: plan) }))
    return (coordinator, client)
  }
}
