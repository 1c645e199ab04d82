import Foundation
import Logging
import VigilConfig
import VigilCoordination
import VigilEngine
import VigilEtcd
import VigilRuntime
import VigilMonitor
import VigilRepair
import VigilStore

/// Vigil as a drill sees it: an engine (monitor and repair coordinator)
/// guarding the drill's cluster from the root namespace, with history in a
/// state directory (or a shared PostgreSQL) that outlives the instance, so a
/// stopped Vigil can be started again and resume its plans. With a
/// coordinator, it is one replica among several.
public final class GuardUnderTest: Sendable {
  public let engine: Engine
  /// This replica's coordinator and the task running its loops (nil: Vigil alone).
  public let replica: ReplicaCoordinator?
  private let replicaLoop: Task<Void, Never>?
  /// Whether stopping revokes the replica's lease (a graceful stop) or leaves it to expire (a death).
  private let revokes: Bool
  /// The management etcd's client, when this replica made its own (closed when it stops).
  private let ownClient: EtcdClient?

  private init(
    engine: Engine, replica: ReplicaCoordinator?, replicaLoop: Task<Void, Never>?, revokes: Bool, ownClient: EtcdClient?
  ) {
    self.engine = engine
    self.replica = replica
    self.replicaLoop = replicaLoop
    self.revokes = revokes
    self.ownClient = ownClient
  }

  public var monitor: Monitor { engine.monitor }
  public var repairs: RepairCoordinator { engine.repairs }
  public var store: HistoryStore { engine.store }
  /// The replica's id ("vigil" alone).
  public var name: String { replica?.settings.replicaID ?? "vigil" }

  /// Starts guarding `clusters` (local clusters by their configured names) under `config`; with `replica`
  /// (settings and the management etcd's client), as one replica among several, whose ``stop()`` revokes its
  /// lease when `revokes` (a graceful stop) or leaves it to expire (a death).
  public static func start(
    config: VigilConfiguration, clusters: [String: LocalCluster], logger: Logger,
    replica: (settings: ReplicaCoordinator.Settings, client: EtcdClient)? = nil, revokes: Bool = false,
    ownsClient: Bool = false
  ) async throws -> GuardUnderTest {
    let engine: Engine
    do {
      engine = try await Engine.build(config, hookups: clusters.mapValues { ClusterHookup(local: $0) }, logger: logger)
    } catch {
      throw DrillError("cannot start Vigil for the drill: \(error)")
    }
    var coordinator: ReplicaCoordinator?
    var loop: Task<Void, Never>?
    if let replica {
      let c = ReplicaCoordinator(
        client: replica.client, settings: replica.settings, liveness: engine.monitor.liveness, logger: logger)
      await engine.coordinate(with: c)
      loop = Task { await c.run(leaving: revokes) }
      coordinator = c
    }
    await engine.start()
    return GuardUnderTest(
      engine: engine, replica: coordinator, replicaLoop: loop, revokes: revokes, ownClient: ownsClient ? replica?.client : nil)
  }

  /// Stops it. Plans in flight are cut where they are (their tasks cancelled) and stay "running" in the
  /// journal, as after a crash; the next instance on the same store resumes them. A replica that dies stops
  /// renewing its lease first, so the others take its clusters once it expires; one stopped gracefully stops
  /// acting first, then revokes its lease, so the others take its clusters at once.
  public func stop() async {
    if revokes { await engine.shutdown() }
    if let replicaLoop {
      replicaLoop.cancel()
      await replicaLoop.value
    }
    if !revokes { await engine.shutdown() }
    await ownClient?.shutdown()
  }
}
