import Foundation
import Logging
import VigilConfig
import VigilCoordination
import VigilEtcd
import VigilLoops
import VigilEngine

extension VigilServe {
  /// With `coordination:` set: this replica's coordinator on the management etcd, wired into the engine
  /// (``Engine/coordinate(with:)``). Nil without coordination.
  static func coordinate(_ configuration: VigilConfiguration, engine: Engine, logger: Logger) async throws
    -> (coordinator: ReplicaCoordinator, client: EtcdClient)?
  {
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
    let coordinator = ReplicaCoordinator(
      client: client, settings: settings, liveness: engine.monitor.liveness, logger: logger)
    await engine.coordinate(with: coordinator)
    return (coordinator, client)
  }
}
