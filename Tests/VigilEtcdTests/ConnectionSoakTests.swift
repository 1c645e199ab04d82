import NIOConcurrencyHelpers
import Testing
import VigilEtcd
import VigilTestKit

/// The trap this client exists to avoid: etcd's grpc-go server sends a
/// flow-control PING with most responses, and swift-nio-http2's default DoS
/// limit (200 PING/SETTINGS per 30 s) closes such a connection after about
/// 200 calls. These tests hold one connection under sustained load and
/// assert that it never dropped.
@Suite("One HTTP/2 connection under sustained load", .serialized)
struct ConnectionSoakTests {
  @Test func oneHundredThousandSequentialUnaryCalls() async throws {
    try await withTestCluster(members: 1) { _, client in
      try await client.kv.put("/soak/key", "value")
      var failures = 0
      for i in 0..<100_000 {
        do {
          // Serializable reads: each is a full unary round trip (and draws a
          // BDP PING from etcd) without waiting on fsync.
          let kv = try await client.kv.get("/soak/key", consistency: .serializable)
          if kv?.valueString != "value" { failures += 1 }
        } catch {
          failures += 1
          if failures < 5 { Issue.record("call \(i) failed: \(error)") }
        }
      }
      #expect(failures == 0)
      let stats = client.connectionStatistics[0].counters
      #expect(stats.established == 1)
      #expect(stats.dropped == 0)
    }
  }

  @Test func sixtyFourConcurrentCallersForSixtySeconds() async throws {
    try await withTestCluster(members: 1) { _, client in
      let deadline = ContinuousClock.now + .seconds(60)
      let counts = NIOLockedValueBox((ok: 0, failed: 0, activeCallers: 0))
      await withTaskGroup(of: Void.self) { group in
        for caller in 0..<64 {
          group.addTask {
            var i = 0
            while ContinuousClock.now < deadline {
              do {
                if i % 2 == 0 {
                  try await client.kv.put("/soak/\(caller)", "\(i)")
                } else {
                  _ = try await client.kv.get("/soak/\(caller)")
                }
                counts.withLockedValue { $0.ok += 1 }
              } catch {
                counts.withLockedValue { $0.failed += 1 }
              }
              i += 1
            }
            if i > 0 { counts.withLockedValue { $0.activeCallers += 1 } }
          }
        }
      }
      let result = counts.withLockedValue { $0 }
      #expect(result.failed == 0)
      #expect(result.activeCallers == 64)  // every caller got calls through
      #expect(result.ok > 0)
      let stats = client.connectionStatistics[0].counters
      #expect(stats.established == 1)
      #expect(stats.dropped == 0)
    }
  }
}
