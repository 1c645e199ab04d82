import Testing
import VigilEtcd
import VigilTestKit

@Suite("Leases")
struct LeaseTests {
  @Test func expiryDeletesTheKeyAndKeepAlivePreventsIt() async throws {
    try await withTestCluster { _, client in
      let kept = try await client.lease.grant(ttl: 10)
      try await client.kv.put("/lease/kept", "y", lease: kept.id)
      let keepAlive = client.lease.keepAlive(kept)
      defer { keepAlive.stop() }
      // The short lease last, its key at once: on a loaded machine a 2 s lease granted earlier had expired
      // before its key could be put on it (seen on a fresh clone).
      let short = try await client.lease.grant(ttl: 3)
      try await client.kv.put("/lease/short", "x", lease: short.id)

      let expired = try await eventually(timeout: .seconds(20)) {
        try await client.kv.get("/lease/short") == nil
      }
      #expect(expired)
      // 7 s after the grant, an unrenewed 10 s lease would have at most 3 s left;
      // renewed every ttl/3, it has more.
      try await Task.sleep(for: .seconds(5))
      #expect(try await client.kv.get("/lease/kept")?.valueString == "y")
      #expect(keepAlive.current.renewals >= 2)
      let ttl = try await client.lease.timeToLive(kept.id, keys: true)
      #expect(ttl.ttl > 3)
      #expect(ttl.keys == ["/lease/kept"])

      try await client.lease.revoke(kept.id)
      #expect(try await client.kv.get("/lease/kept") == nil)
      #expect(try await client.lease.timeToLive(kept.id).ttl == -1)
    }
  }
}
