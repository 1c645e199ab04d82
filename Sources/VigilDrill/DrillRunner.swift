import Foundation
import Logging
import NIOCore
import VigilConfig
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilOracle
import VigilStore

/// What a drill run leaves behind besides its verdict.
public struct DrillOutcome: Sendable {
  public var run: DrillRun
  public var history: [RecordedOperation]
}

/// Runs one scenario once: test hosts, a cluster on them, Vigil guarding it
/// from outside, the recorded workload, the fault, the wait for recovery, the
/// final reads, the checker, the verdict. Everything it created is removed
/// afterwards, even when it fails.
public struct DrillRunner: Sendable {
  /// Vigil's configuration; its first cluster describes the drill's cluster.
  public var config: VigilConfiguration
  /// Where each run's cluster data and Vigil state go (removed after the run unless `keep`).
  public var workDirectory: String
  public var keep = false
  /// Time with the workload running before the fault, and after recovery.
  public var warmup: Duration = .seconds(2)
  public var cooldown: Duration = .seconds(2)
  /// How long a fault may take to be repaired before the run is failed.
  public var recoveryTimeout: Duration = .seconds(90)
  public var logger: Logger

  public init(config: VigilConfiguration, workDirectory: String, logger: Logger) {
    self.config = config
    self.workDirectory = workDirectory
    self.logger = logger
  }

  /// The cluster a drill may touch, or a clear refusal.
  public static func drillCluster(_ config: VigilConfiguration, named name: String?) throws -> ClusterConfig {
    let candidates = name.map { n in config.clusters.filter { $0.name == n } } ?? config.clusters
    guard let cluster = candidates.first else {
      let known = config.clusters.map(\.name).joined(separator: ", ")
      throw DrillError("--cluster \(name ?? ""): no such cluster in the configuration (clusters: \(known))")
    }
    guard cluster.drillAllowed else {
      throw DrillError(
        "clusters[\(cluster.name)].drillAllowed is false: a drill only touches a cluster marked drillAllowed: true")
    }
    guard case .local = cluster.runtime else {
      throw DrillError(
        "clusters[\(cluster.name)].runtime is not local: a drill builds its cluster on its own test hosts (runtime: {kind: local})"
      )
    }
    return cluster
  }

  public func run(_ scenario: DrillScenario, repeatIndex: Int, seed: UInt64) async throws -> DrillOutcome {
    let runDir = workDirectory + "/\(scenario.name)-\(repeatIndex + 1)"
    try? FileManager.default.removeItem(atPath: runDir)
    try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
    defer { if !keep { try? FileManager.default.removeItem(atPath: runDir) } }
    let clusterConfig = config.clusters[0]
    let size: Int
    if case .local(let members) = clusterConfig.runtime { size = members } else { size = 3 }
    let network = try await TestNetwork.create(hosts: size, logger: logger)
    do {
      let outcome = try await run(scenario, repeatIndex: repeatIndex, seed: seed, network: network, runDir: runDir)
      await network.remove()
      return outcome
    } catch {
      await network.remove()
      throw error
    }
  }

  private func run(_ scenario: DrillScenario, repeatIndex: Int, seed: UInt64, network: TestNetwork, runDir: String)
    async throws -> DrillOutcome
  {
    var options = LocalClusterOptions(members: network.hosts.count, directory: runDir + "/cluster")
    options.hosts = network.hosts
    options.quotaBackendBytes = scenario.quotaBytes ?? config.clusters[0].quotaBytes
    let cluster = try await LocalCluster.start(options, logger: logger)
    var vigilConfig = config
    vigilConfig.stateDir = runDir + "/vigil"
    vigilConfig.clusters = [config.clusters[0]]
    vigilConfig.clusters[0].quotaBytes = options.quotaBackendBytes
    // A drill is a person's explicit go-ahead: restores from backup run without waiting for approval.
    vigilConfig.repair.restoreMode = .auto
    let admin: DrillAdmin
    do { admin = try DrillAdmin(endpoints: await cluster.endpoints) } catch {
      await cluster.shutdown()
      throw error
    }
    var vigil: GuardUnderTest?
    do {
      vigil = try await GuardUnderTest.start(config: vigilConfig, cluster: cluster, logger: logger)
      let execution = DrillExecution(
        scenario: scenario, cluster: cluster, network: network, admin: admin, config: vigilConfig, logger: logger,
        vigil: vigil!)
      vigil = nil
      let outcome: DrillOutcome
      do {
        outcome = try await execution.perform(
          repeatIndex: repeatIndex, seed: seed, warmup: warmup, cooldown: cooldown, recoveryTimeout: recoveryTimeout)
      } catch {
        await execution.vigil.stop()
        throw error
      }
      await execution.vigil.stop()
      await admin.shutdown()
      await cluster.shutdown()
      return outcome
    } catch {
      await vigil?.stop()
      await admin.shutdown()
      await cluster.shutdown()
      throw error
    }
  }
}
