import Foundation
import VigilEtcd
import VigilRuntime

/// Runs `body` with a fresh real etcd cluster and a client for it; the
/// cluster is torn down afterwards, also when `body` throws. The client's
/// call deadline is generous (15 s): tests check outcomes, and on a loaded
/// machine an election after a killed leader can take several seconds.
///
/// ```swift
/// try await withTestCluster(members: 3) { cluster, client in
///   try await client.kv.put("/k", "v")
/// }
/// ```
public func withTestCluster<T: Sendable>(
  members: Int = 3,
  configure: (inout LocalClusterOptions) -> Void = { _ in },
  _ body: (LocalCluster, EtcdClient) async throws -> T
) async throws -> T {
  var options = LocalClusterOptions(members: members)
  configure(&options)
  let cluster = try await LocalCluster.start(options)
  let client: EtcdClient
  do {
    var config = cluster.clientConfiguration(endpoints: await cluster.endpoints)
    config.callTimeout = .seconds(15)
    client = try EtcdClient(configuration: config)
  } catch {
    await cluster.shutdown()
    throw error
  }
  do {
    let result = try await body(cluster, client)
    await client.shutdown()
    await cluster.shutdown()
    return result
  } catch {
    await client.shutdown()
    await cluster.shutdown()
    throw error
  }
}

/// Polls `condition` until it holds or `timeout` passes. For waiting on
/// real processes; the timeout is a safety net, not an assertion on speed.
public func eventually(
  timeout: Duration = .seconds(30), interval: Duration = .milliseconds(50),
  _ condition: () async throws -> Bool
) async throws -> Bool {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if (try? await condition()) == true { return true }
    try await Task.sleep(for: interval)
  }
  return try await condition()
}

/// A scratch directory removed when the closure ends.
public func withTemporaryDirectory<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString.prefix(8))")
    .path
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: dir) }
  return try await body(dir)
}

/// The built `vigil` executable, found next to the running test bundle
/// (`swift build --build-tests` builds both into the same directory).
public func vigilExecutablePath() -> String? {
  var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  for _ in 0..<3 {
    let candidate = dir.appendingPathComponent("vigil").path
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    dir = dir.deletingLastPathComponent()
  }
  return nil
}

/// Writes `key` = `value` once, retrying through elections and failovers: the
/// write is a create-if-absent transaction, so a retry after an unknown
/// outcome never adds a second event. For tests that write while members die.
public func createEventually(
  _ client: EtcdClient, _ key: String, _ value: String, timeout: Duration = .seconds(60)
) async throws {
  let deadline = ContinuousClock.now + timeout
  while true {
    do {
      _ = try await client.kv.txn([.createRevision(key, .equal, 0)], success: [.put(key, value)])
      return
    } catch {
      let transient: Set<EtcdError.Code> = [.unavailable, .timedOut, .outcomeUnknown, .unreachable]
      guard transient.contains(error.code), ContinuousClock.now < deadline else { throw error }
      try await Task.sleep(for: .milliseconds(100))
    }
  }
}
