import Testing
import VigilEtcd
import VigilTestKit

@Suite("Leases")
struct LeaseTests {
  @Test func expiryDeletesTheKeyAndKeepAlivePreventsIt() async throws {
    try await withTestCluster { _, client in
      let short = try await client.lease.grant(ttl: 2)
      // etcd's shortest lease is 1.5 s; 4 s leaves the keep-alive room on a loaded machine.
      let kept = try await client.lease.grant(ttl: 4)
      try await client.kv.put("/lease/short", "x", lease: short.id)
      try await client.kv.put("/lease/kept", "y", lease: kept.id)
      let keepAlive = client.lease.keepAlive(kept)
      defer { keepAlive.stop() }

      let expired = try await eventually(timeout: .seconds(20)) {
        try await client.kv.get("/lease/short") == nil
      }
      #expect(expired)
      // Well past the 4 s TTL the kept key is still there.
      try await Task.sleep(for: .seconds(5))
      #expect(try await client.kv.get("/lease/kept")?.valueString == "y")
      #expect(keepAlive.current.renewals >= 2)
      let ttl = try await client.lease.timeToLive(kept.id, keys: true)
      #expect(ttl.ttl > 0)
      #expect(ttl.keys == ["/lease/kept"])

      try await client.lease.revoke(kept.id)
      #expect(try await client.kv.get("/lease/kept") == nil)
      #expect(try await client.lease.timeToLive(kept.id).ttl == -1)
    }
  }
}
