import Foundation
import Logging
import VigilConfig
import VigilEngine
import VigilEtcd
import VigilRuntime

/// A benchmark that runs against a local 3-member cluster it starts itself (8 GiB quota) and loads with data.
public protocol LocalClusterBench: Sendable {
  var cluster: LocalCluster { get }
  var client: EtcdClient { get }
  init(cluster: LocalCluster, client: EtcdClient, logger: Logger)
}

extension LocalClusterBench {
  /// Starts the cluster the measurements run against.
  public static func start() async throws -> Self {
    var logger = Logger(label: "vigil.bench")
    logger.logLevel = .warning
    var options = LocalClusterOptions(members: 3)
    options.quotaBackendBytes = 8 << 30
    let cluster = try await LocalCluster.start(options, logger: logger)
    do {
      let client = try EtcdClient(configuration: EtcdClientConfiguration(endpoints: await cluster.endpoints))
      return Self(cluster: cluster, client: client, logger: logger)
    } catch {
      await cluster.shutdown()
      throw error
    }
  }

  public func shutdown() async {
    await client.shutdown()
    await cluster.shutdown()
  }

  /// Writes `megabytes` of 256 KiB values; returns the database size.
  public func load(megabytes: Int) async throws -> Int64 {
    let value = String(repeating: "v", count: 256 << 10)
    for i in 0..<(megabytes * 4) { try await client.withCallTimeout(.seconds(30)).kv.put("/bench/data/\(i)", value) }
    return try await client.maintenance.status().dbSize
  }

  /// An engine on `settings` (the top-level keys but `clusters`) guarding the cluster as `bench` at P0 with
  /// KV and member probes; shut down after `body`.
  func withEngine(_ settings: String, logger: Logger, _ body: (Engine) async throws -> Void) async throws {
    let yaml = """
      \(settings)
      probeSuites:
        - name: s
          probes:
            - kind: etcd.kv
            - kind: etcd.member
      clusters:
        - {name: bench, endpoints: [\(await cluster.endpoints.map(\.description).joined(separator: ", "))], tier: P0, probeSuites: [s]}
      """
    let config: VigilConfiguration
    do { config = try ConfigLoader.parse(yaml, file: "bench") } catch { throw BenchError("\(error)") }
    let engine = try await Engine.build(config, hookups: ["bench": ClusterHookup(local: cluster)], logger: logger)
    await engine.start()
    do { try await body(engine) } catch {
      await engine.shutdown()
      throw error
    }
    await engine.shutdown()
  }
}
