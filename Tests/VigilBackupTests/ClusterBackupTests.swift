import Foundation
import Logging
import Testing
import VigilBackup
import VigilConfig
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilTestKit

/// Backups of a real cluster: a snapshot taken, stored and verified by a real restore; the change log
/// following writes; a restore into a new cluster (etcdctl snapshot restore + replay) matching the source
/// key for key with revisions lined up, then raised above what clients saw.
@Suite struct ClusterBackupTests {
  static func contents(_ client: EtcdClient, revision: Int64 = 0) async throws -> [String: String] {
    let all = try await client.kv.range("", prefix: true, revision: revision)
    return Dictionary(uniqueKeysWithValues: all.kvs.map { ($0.keyString, $0.valueString) })
  }

  @Test func snapshotVerifiedLogFollowedAndRestored() async throws {
    try await withTemporaryDirectory { dir in
      try await withTestCluster(members: 3) { _, client in
        for i in 0..<50 { try await client.kv.put("/app/before/\(i)", "v\(i)") }
        let lease = try await client.lease.grant(ttl: 300)
        try await client.kv.put("/app/leased", "with a lease", lease: lease.id)
        let store = LocalBackupStore(root: dir + "/store")
        var settings = ClusterBackupSettings()
        settings.flushInterval = .milliseconds(100)
        settings.segmentSpan = .seconds(1)
        let audits = AuditCollector()
        let backup = ClusterBackup(
          cluster: "main", client: client, store: store, stateDir: dir + "/state", settings: settings,
          metrics: BackupMetrics(), audit: { await audits.add($0) }, logger: Logger(label: "test"))
        try await whileRunning(backup) {
        #expect(try await eventually(timeout: .seconds(60)) { await backup.status.lastVerified != nil })
        let first = try #require(await backup.status.lastVerified)
        #expect(first.verification == .verified)
        #expect(first.revision >= first.revisionAtStart && first.revision > 0)
        #expect(first.sourceHashKV != nil)
        #expect(first.reason == .start)
        #expect(first.verificationDetail?.contains("HashKV") == true)

        // Writes after the snapshot reach the change log: puts, a delete, a multi-key transaction.
        for i in 0..<30 { try await client.kv.put("/app/after/\(i)", "w\(i)") }
        let middle = try await client.kv.put("/app/after/middle", "m").revision
        _ = try await client.kv.delete("/app/before/0")
        _ = try await client.kv.txn([], success: [.put("/app/txn/a", "1"), .put("/app/txn/b", "2"), .delete("/app/before/1")])
        let last = try await client.kv.put("/app/last", "end", lease: lease.id).revision
        #expect(try await eventually { await backup.status.changeLogRevision >= last })
        try await backup.sealNow()
        let expected = try await Self.contents(client, revision: last)
        let atMiddle = try await Self.contents(client, revision: middle)

        // Restore the newest point: rebuilt offline (replay, bump, compact), then every member of a new
        // 3-member cluster restored from the rebuilt snapshot by etcdctl.
        let inputs = try await BackupRestore.prepare(store: store, cluster: "main", target: .latest, directory: dir + "/restore")
        #expect(inputs.dataRevision == last)
        let (outcome, rebuilt) = try await BackupRestore.rebuild(inputs, directory: dir + "/restore", margin: 100, leaseTTL: 60)
        #expect(outcome.restoredRevision == last)
        #expect(outcome.finalRevision >= last + 100)
        var options = LocalClusterOptions(members: 3)
        options.snapshot = rebuilt
        let restored = try await LocalCluster.start(options)
        let restoredClient = try EtcdClient(configuration: restored.clientConfiguration(endpoints: await restored.endpoints))
        do {
          // The first answer clients get is already above every revision they saw.
          #expect(try await restoredClient.kv.range("/app/", prefix: true).revision == outcome.finalRevision)
          #expect(try await Self.contents(restoredClient) == expected)
          // The restored revisions line up with the source's: the key written at `middle` has that mod revision.
          let m = try await restoredClient.kv.get("/app/after/middle")
          #expect(m?.modRevision == middle)
          // Leased keys kept their lease id.
          #expect(try await restoredClient.kv.get("/app/last")?.lease == lease.id)
          // A watch from before the restore fails as compacted instead of silently missing changes.
          await #expect(throws: EtcdError.self) {
            for try await _ in restoredClient.watch("/app/", options: EtcdWatchOptions(prefix: true, startRevision: last)) {}
          }
        } catch {
          await restoredClient.shutdown()
          await restored.shutdown()
          throw error
        }
        await restoredClient.shutdown()
        await restored.shutdown()

        // A restore to a chosen revision stops there.
        let earlier = try await BackupRestore.prepare(
          store: store, cluster: "main", target: .revision(middle), directory: dir + "/restore-middle")
        #expect(earlier.dataRevision == middle)
        let (_, earlierFile) = try await BackupRestore.rebuild(earlier, directory: dir + "/restore-middle", margin: 10, leaseTTL: 60)
        var one = LocalClusterOptions(members: 1)
        one.snapshot = earlierFile
        let single = try await LocalCluster.start(one)
        let singleClient = try EtcdClient(configuration: single.clientConfiguration(endpoints: await single.endpoints))
        let atMiddleRestored = try? await Self.contents(singleClient)
        await singleClient.shutdown()
        await single.shutdown()
        #expect(atMiddleRestored == atMiddle)
        }
      }
    }
  }
}

/// Runs `body` while the backup's loops run beside it; they are cancelled when it ends or throws.
func whileRunning(_ backup: ClusterBackup, _ body: () async throws -> Void) async throws {
  try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await backup.run() }
    try await body()
    group.cancelAll()
  }
}

actor AuditCollector {
  var entries: [AuditEntry] = []
  func add(_ e: AuditEntry) { entries.append(e) }
}

extension S3BackupStoreTests.OnARealServer {
  /// The whole path through the real S3 API (OpenStack Swift with s3api): the store made from `backup.s3`,
  /// a snapshot and the change log stored and verified there, and a restore read back from it.
  @Test func aClusterIsBackedUpToS3VerifiedAndRestoredFromIt() async throws {
    let server = try #require(SharedS3Server.current)
    let config = try ConfigLoader.parse(
      """
      backup: {s3: {endpoint: "\(server.endpoint)", bucket: clusters, prefix: vigil, partSize: 5242880}}
      clusters: [{name: main, endpoints: ["http://127.0.0.1:2379"]}]
      """)
    let environment = ["AWS_ACCESS_KEY_ID": server.accessKey, "AWS_SECRET_ACCESS_KEY": server.secretKey]
    #expect(throws: BackupStoreError.self) { _ = try BackupStores.make(config, environment: [:]) }
    let store = try #require(try BackupStores.make(config, environment: environment))
    #expect(store.description.hasPrefix("s3 \(server.endpoint)/clusters/vigil"))
    do {
      try await withTemporaryDirectory { dir in
        try await withTestCluster(members: 1) { _, client in
          for i in 0..<20 { try await client.kv.put("/s3/\(i)", "v\(i)") }
          var settings = ClusterBackupSettings()
          settings.flushInterval = .milliseconds(100)
          let backup = ClusterBackup(
            cluster: "main", client: client, store: store, stateDir: dir, settings: settings, metrics: BackupMetrics(),
            audit: { _ in }, logger: Logger(label: "test"))
          var last: Int64 = 0
          try await whileRunning(backup) {
            #expect(try await eventually(timeout: .seconds(60)) { await backup.status.lastVerified != nil })
            last = try await client.kv.put("/s3/last", "end").revision
            let expected = last
            #expect(try await eventually { await backup.status.changeLogRevision >= expected })
            try await backup.sealNow()
          }
          let keys = try await store.list(prefix: "main/").map(\.key)
          #expect(keys.contains { $0.hasPrefix("main/snapshots/") && $0.hasSuffix(".db") })
          #expect(keys.contains { $0.hasPrefix("main/changelog/") })
          let inputs = try await BackupRestore.prepare(store: store, cluster: "main", target: .latest, directory: dir + "/r")
          let (outcome, file) = try await BackupRestore.rebuild(inputs, directory: dir + "/r", margin: 10, leaseTTL: 60)
          var options = LocalClusterOptions(members: 1)
          options.snapshot = file
          let restored = try await LocalCluster.start(options)
          let restoredClient = try EtcdClient(configuration: restored.clientConfiguration(endpoints: await restored.endpoints))
          let value = try? await restoredClient.kv.get("/s3/last")?.valueString
          let count = try? await restoredClient.kv.range("/s3/", prefix: true).count
          await restoredClient.shutdown()
          await restored.shutdown()
          #expect(outcome.restoredRevision == last)
          #expect(value == "end")
          #expect(count == 21)
        }
      }
    } catch {
      await store.shutdown()
      throw error
    }
    await store.shutdown()
  }
}
