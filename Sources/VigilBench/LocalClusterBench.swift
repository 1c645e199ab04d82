import Foundation
import Logging
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
}
