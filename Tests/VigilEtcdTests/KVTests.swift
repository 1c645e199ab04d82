import Testing
import VigilEtcd
import VigilTestKit

@Suite("KV and transactions against a real 3-member cluster")
struct KVTests {
  @Test func putGetDeleteRoundTrip() async throws {
    try await withTestCluster { _, client in
      let put = try await client.kv.put("/t/a", "1")
      #expect(put.revision > 1)
      let got = try await client.kv.get("/t/a")
      #expect(got?.valueString == "1")
      #expect(got?.version == 1)
      try await client.kv.put("/t/b", "2")
      let serial = try await client.kv.get("/t/b", consistency: .serializable)
      #expect(serial?.valueString == "2" || serial == nil)  // a follower may lag a moment
      let range = try await client.kv.range("/t/", prefix: true)
      #expect(range.kvs.map(\.keyString) == ["/t/a", "/t/b"])
      #expect(range.count == 2)
      let deleted = try await client.kv.delete("/t/", prefix: true, prevKV: true)
      #expect(deleted.deleted == 2)
      #expect(deleted.previous.map(\.valueString).sorted() == ["1", "2"])
      #expect(try await client.kv.get("/t/a") == nil)
    }
  }

  /// A unary answer larger than the stream's initial flow-control window (4 MiB): the client must widen the
  /// window as it reads, or the call stalls until its deadline (found by verifying a backup of 256 KiB values).
  @Test func aRangeLargerThanTheStreamWindowArrives() async throws {
    try await withTestCluster(members: 1) { _, client in
      let value = String(repeating: "v", count: 256 << 10)
      for i in 0..<24 { try await client.kv.put("/big/\(i)", value) }
      let all = try await client.withCallTimeout(.seconds(10)).kv.range("/big/", prefix: true)
      #expect(all.kvs.count == 24)
      #expect(all.kvs.allSatisfy { $0.value.count == 256 << 10 })
      // Twice on one connection: the window credit given back for the first leaves room for the second.
      #expect(try await client.withCallTimeout(.seconds(10)).kv.range("/big/", prefix: true).kvs.count == 24)
    }
  }

  @Test func compareAndSwapSucceedsAndFails() async throws {
    try await withTestCluster { _, client in
      try await client.kv.put("/cas", "old")
      let swapped = try await client.kv.txn(
        [.value("/cas", .equal, "old")], success: [.put("/cas", "new")], failure: [.get("/cas")])
      #expect(swapped.succeeded)
      #expect(try await client.kv.get("/cas")?.valueString == "new")

      let refused = try await client.kv.txn(
        [.value("/cas", .equal, "old")], success: [.put("/cas", "newer")], failure: [.get("/cas")])
      #expect(!refused.succeeded)
      guard case .range(let current)? = refused.results.first else {
        Issue.record("failure branch did not return the range")
        return
      }
      #expect(current.kvs.first?.valueString == "new")
      #expect(try await client.kv.get("/cas")?.valueString == "new")

      // Create-if-absent guard on the create revision.
      let created = try await client.kv.txn([.createRevision("/fresh", .equal, 0)], success: [.put("/fresh", "x")])
      #expect(created.succeeded)
      let again = try await client.kv.txn([.createRevision("/fresh", .equal, 0)], success: [.put("/fresh", "y")])
      #expect(!again.succeeded)
    }
  }

  @Test func emptyKeyIsRejectedWithAClearError() async throws {
    try await withTestCluster(members: 1) { _, client in
      await #expect(throws: EtcdError.self) { try await client.kv.put("", "v") }
      do {
        try await client.kv.put("", "v")
      } catch let error as EtcdError {
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("key is empty"))
      }
    }
  }
}
