import Foundation
import Logging
import VigilConfig
import VigilEngine
import VigilRuntime
import VigilMonitor
import VigilRepair
import VigilStore

/// Vigil as a drill sees it: an engine (monitor and repair coordinator)
/// guarding the drill's cluster from the root namespace, with history in a
/// state directory that outlives the instance, so a stopped Vigil can be
/// started again and resume its plans.
public final class GuardUnderTest: Sendable {
  public let engine: Engine

  private init(engine: Engine) { self.engine = engine }

  public var monitor: Monitor { engine.monitor }
  public var repairs: RepairCoordinator { engine.repairs }
  public var store: HistoryStore { engine.store }

  /// Starts guarding `clusters` (local clusters by their configured names) under `config`.
  public static func start(config: VigilConfiguration, clusters: [String: LocalCluster], logger: Logger) async throws
    -> GuardUnderTest
  {
    let engine: Engine
    do {
      engine = try await Engine.build(config, hookups: clusters.mapValues { ClusterHookup(local: $0) }, logger: logger)
    } catch {
      throw DrillError("cannot start Vigil for the drill: \(error)")
    }
    await engine.start()
    return GuardUnderTest(engine: engine)
  }

  /// Stops it. Plans in flight are cut where they are (their tasks cancelled) and stay "running" in the
  /// journal, as after a crash; the next instance on the same state directory resumes them.
  public func stop() async {
    await engine.shutdown()
  }
}
