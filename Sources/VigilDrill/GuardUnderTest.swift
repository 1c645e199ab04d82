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

  private init(engine: Engine, replica: ReplicaCoordinator?, replicaLoop: Task<Void, Never>?) {
    self.engine = engine
    self.replica = replica
    self.replicaLoop = replicaLoop
  }

  public var monitor: Monitor { engine.monitor }
  public var repairs: RepairCoordinator { engine.repairs }
  public var store: HistoryStore { engine.store }
  /// The replica's id ("vigil" alone).
  public var name: String { replica?.settings.replicaID ?? "vigil" }

  /// Starts guarding `clusters` (local clusters by their configured names) under `config`; with `replica`
  /// (settings and the management etcd's client), as one replica among several.
  public static func start(
    config: VigilConfiguration, clusters: [String: LocalCluster], logger: Logger,
    replica: (settings: ReplicaCoordinator.Settings, client: EtcdClient)? = nil
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
      // Never revokes on the way out: a replica stopped by a drill dies as after SIGKILL (its lease expires).
      loop = Task { await c.run(leaving: false) }
      coordinator = c
    }
    await engine.start()
    return GuardUnderTest(engine: engine, replica: coordinator, replicaLoop: loop)
  }

  /// Stops it. Plans in flight are cut where they are (their tasks cancelled) and stay "running" in the
  /// journal, as after a crash; the next instance on the same store resumes them. A replica stops renewing
  /// its lease first (without revoking it), so the others take its clusters once it expires.
  public func stop() async {
    if let replicaLoop {
      replicaLoop.cancel()
      await replicaLoop.value
    }
    await engine.shutdown()
  }
}
