import Testing
import VigilEtcd
import VigilRuntime
import VigilTestKit

@Suite("Watch")
struct WatchTests {
  @Test func deliversEveryEventInOrder() async throws {
    try await withTestCluster { _, client in
      let start = try await client.kv.put("/w/seed", "0").revision
      let watch = client.watch("/w/", options: EtcdWatchOptions(prefix: true, startRevision: start + 1, prevKV: true))
      let writer = Task {
        for i in 1...50 { try await client.kv.put("/w/k\(i % 5)", "\(i)") }
        try await client.kv.delete("/w/k0")
      }
      var seen: [EtcdWatchEvent] = []
      for try await response in watch {
        seen += response.events
        if seen.count >= 51 { break }
      }
      try await writer.value
      #expect(seen.count == 51)
      #expect(seen.prefix(50).map(\.kv.valueString) == (1...50).map(String.init))
      #expect(seen.last?.kind == .delete)
      #expect(seen.last?.previous?.valueString == "50")
      let revisions = seen.map(\.kv.modRevision)
      #expect(revisions == revisions.sorted())
      #expect(Set(revisions).count == revisions.count)
    }
  }

  @Test func resumesFromTheLastRevisionAfterItsMemberIsKilled() async throws {
    try await withTestCluster { cluster, client in
      // From an explicit revision: a watch "from now" starts whenever etcd creates it, which under load can be
      // after the first writes below (it then waits for an event written before it existed).
      let start = try await client.kv.range("/r/", prefix: true, countOnly: true).revision + 1
      let watch = client.watch("/r/", options: EtcdWatchOptions(prefix: true, startRevision: start))
      let members = await cluster.members
      // Writes go through a client that avoids the member we will kill.
      var writerConfig = cluster.clientConfiguration(endpoints: [members[1].clientEndpoint, members[2].clientEndpoint])
      writerConfig.callTimeout = .seconds(15)
      let writerClient = try EtcdClient(configuration: writerConfig)
      let total = 40
      async let collected = collectEvents(watch, count: total)
      // The watch connects to the first endpoint (m1); give it time to be created, so the kill interrupts it.
      try await Task.sleep(for: .milliseconds(300))
      // Distinct keys, written once each even if an election makes a write's outcome unknown.
      for i in 0..<20 { try await createEventually(writerClient, "/r/\(i)", "\(i)") }
      try await cluster.kill("m1")
      for i in 20..<total { try await createEventually(writerClient, "/r/\(i)", "\(i)") }
      let values = try await collected.map(\.kv.valueString)
      await writerClient.shutdown()
      #expect(values == (0..<total).map(String.init))
      #expect(watch.reconnectCount >= 1)
      #expect(client.endpointInUse != members[0].clientEndpoint)
    }
  }

  @Test func silentStreamOnAFrozenMemberIsReopenedElsewhere() async throws {
    try await withTestCluster { cluster, client in
      var options = EtcdWatchOptions(prefix: true)
      options.startRevision = try await client.kv.range("/frozen/", prefix: true, countOnly: true).revision + 1
      options.livenessInterval = .milliseconds(300)
      let watch = client.watch("/frozen/", options: options)
      let members = await cluster.members
      var writerConfig = cluster.clientConfiguration(endpoints: [members[1].clientEndpoint, members[2].clientEndpoint])
      writerConfig.callTimeout = .seconds(15)
      let writer = try EtcdClient(configuration: writerConfig)
      async let collected = collectEvents(watch, count: 10)
      try await Task.sleep(for: .milliseconds(300))
      for i in 0..<5 { try await createEventually(writer, "/frozen/\(i)", "\(i)") }
      // SIGSTOP: the TCP connection stays up, nothing answers.
      try await cluster.freeze("m1")
      for i in 5..<10 { try await createEventually(writer, "/frozen/\(i)", "\(i)") }
      let values: Result<[EtcdWatchEvent], any Error>
      do { values = .success(try await collected) } catch { values = .failure(error) }
      try await cluster.unfreeze("m1")
      await writer.shutdown()
      #expect(try values.get().map(\.kv.valueString) == (0..<10).map(String.init))
      #expect(watch.reconnectCount >= 1)
    }
  }

  @Test func compactedStartRevisionEndsTheWatchWithAClearError() async throws {
    try await withTestCluster(members: 1) { _, client in
      let first = try await client.kv.put("/c/k", "1").revision
      let last = try await client.kv.put("/c/k", "2").revision
      try await client.kv.put("/c/k", "3")
      try await client.kv.compact(revision: last)
      let watch = client.watch("/c/k", options: EtcdWatchOptions(startRevision: first))
      do {
        for try await _ in watch {}
        Issue.record("watch on a compacted revision did not fail")
      } catch let error as EtcdError {
        #expect(error.code == .compacted)
      }
    }
  }
}
