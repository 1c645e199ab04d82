import Foundation
import Logging
import VigilConfig
import VigilEtcd
import VigilLocal
import VigilMonitor
import VigilRepair
import VigilStore

/// Vigil as a drill sees it: the monitor and the repair coordinator guarding
/// the drill's cluster from the root namespace, with history in a state
/// directory that outlives the instance, so a stopped Vigil can be started
/// again and resume its plans.
public final class GuardUnderTest: Sendable {
  public let monitor: Monitor
  public let repairs: RepairCoordinator
  public let store: HistoryStore
  let client: EtcdClient

  private init(monitor: Monitor, repairs: RepairCoordinator, store: HistoryStore, client: EtcdClient) {
    self.monitor = monitor
    self.repairs = repairs
    self.store = store
    self.client = client
  }

  /// Starts guarding `cluster` under `config` (its first cluster is the drill's).
  public static func start(config: VigilConfiguration, cluster: LocalCluster, logger: Logger) async throws
    -> GuardUnderTest
  {
    let clusterConfig = config.clusters[0]
    let client = try EtcdClient(configuration: EtcdClientConfiguration(endpoints: await cluster.endpoints), logger: logger)
    let guarded = GuardedCluster(config: clusterConfig, client: client, quotaBytes: cluster.options.quotaBackendBytes) {
      member in try? await cluster.member(member).dataDir
    }
    do {
      let store = try HistoryStore(directory: config.stateDir)
      let monitor = try Monitor(configuration: config, clusters: [guarded], store: store, logger: logger)
      let repairs = RepairCoordinator(
        monitor: monitor,
        targets: [RepairTarget(config: clusterConfig, client: client, runtime: LocalRuntime(cluster: cluster))],
        store: store, config: config.repair, stateDir: config.stateDir, logger: logger)
      await monitor.start()
      await repairs.start()
      return GuardUnderTest(monitor: monitor, repairs: repairs, store: store, client: client)
    } catch {
      await client.shutdown()
      throw DrillError("cannot start Vigil for the drill: \(error)")
    }
  }

  /// Stops it. Plans in flight are cut where they are (their tasks cancelled) and stay "running" in the
  /// journal, as after a crash; the next instance on the same state directory resumes them.
  public func stop() async {
    await repairs.stop()
    await monitor.stop()
    await client.shutdown()
  }
}
