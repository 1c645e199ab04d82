import Foundation
import Logging
import VigilEtcd
import VigilRuntime

/// A throw-away one-member etcd restored from a snapshot (a verification, a restore's offline rebuild), on
/// a private port, kept on memory-backed `/dev/shm` when it has room — every write there skips the disk's
/// fsync, and nothing in it needs to survive a crash.
enum ScratchEtcd {
  /// A lone scratch member elects itself after one election timeout: a short one (10 ms heartbeats, 100 ms
  /// timeout; etcd wants the timeout at least 5 heartbeats) starts it sooner. Nothing else talks to it.
  static let fastElection = ["--heartbeat-interval", "10", "--election-timeout", "100"]

  /// `/dev/shm/vigil-NAME-…` when it has room for a few copies of `bytes`, else `fallback/NAME`.
  static func directory(fallback: String, name: String, needs bytes: Int64) -> String {
    let shm = "/dev/shm"
    if let attributes = try? FileManager.default.attributesOfFileSystem(forPath: shm),
      let free = (attributes[.systemFreeSize] as? NSNumber)?.int64Value, free > 3 * bytes + (64 << 20),
      FileManager.default.isWritableFile(atPath: shm)
    {
      return "\(shm)/vigil-\(name)-\(UUID().uuidString.prefix(8))"
    }
    return (fallback as NSString).appendingPathComponent(name)
  }

  /// Runs `body` with a client of a scratch etcd restored from `snapshot` in `directory`; the etcd is stopped
  /// and the directory removed afterwards, also when `body` throws.
  /// - Parameter what: for the error when etcd does not start ("snapshot 2026…").
  static func with<T: Sendable>(
    snapshot: String, directory: String, what: String, logger: Logger, _ body: (EtcdClient) async throws -> T
  ) async throws -> T {
    try? FileManager.default.removeItem(atPath: directory)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var options = LocalClusterOptions(members: 1, directory: directory)
    options.extraArguments = fastElection
    options.snapshot = snapshot
    let local: LocalCluster
    do { local = try await LocalCluster.start(options, logger: logger) } catch {
      throw BackupError("etcd does not start from \(what): \(error)")
    }
    let client: EtcdClient
    do { client = try EtcdClient(configuration: local.clientConfiguration(endpoints: await local.endpoints)) } catch {
      await local.shutdown()
      throw error
    }
    do {
      let result = try await body(client)
      await client.shutdown()
      await local.shutdown()
      return result
    } catch {
      await client.shutdown()
      await local.shutdown()
      throw error
    }
  }
}
