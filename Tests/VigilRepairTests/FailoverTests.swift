import Foundation
import Testing
import VigilAPI
import VigilCore
import VigilEtcd
import VigilMonitor
import VigilRepair
import VigilRuntime
import VigilServer
import VigilTestKit

/// A primary and its standby, both real clusters under one engine: the mirror keeps the standby, a person
/// fails over (the primary fenced first) and back, every acknowledged write survives both switches, and the
/// published endpoints follow the active side.
@Suite("Failover to a standby cluster")
struct FailoverTests {
  static func published(_ monitor: Monitor, _ repairs: RepairCoordinator) async -> PublishedEndpoints? {
    EndpointDirectory.entry("a", in: await HTTPAPI.published(monitor: monitor, repairs: repairs))
  }

  static func endpoints(_ cluster: LocalCluster) async -> Set<String> {
    Set(await cluster.members.map(\.clientEndpoint.description))
  }

  @Test func aPersonFailsOverAndBackAndEveryWriteSurvives() async throws {
    try await withTestCluster(members: 3) { a, clientA in
      try await withTestCluster(members: 1) { b, clientB in
        try await withRepair(
          [("a", a), ("b", b)], extra: "standby: {heartbeatInterval: 200ms, revisionMargin: 100}",
          perCluster: ["a": "standby: b"]
        ) { monitor, repairs, dir in
          #expect(try await eventually { await monitor.health(of: "a") == .healthy })
          #expect(try await eventually { await monitor.health(of: "b") == .healthy })
          // As configured: a serves, b is its standby, mirrored.
          let before = try #require(await Self.published(monitor, repairs))
          #expect(before.active == "a" && before.standby == "b")
          #expect(try await eventually { Set((await Self.published(monitor, repairs))?.endpoints ?? []) == (await Self.endpoints(a)) })
          for i in 0..<50 { try await clientA.kv.put("/app/\(i)", "v\(i)") }
          let last = try await clientA.kv.put("/app/last", "a").revision
          #expect(
            try await eventually {
              guard let s = await monitor.status().clusters.first(where: { $0.name == "a" })?.standby else { return false }
              return s.phase == .mirroring && s.appliedRevision >= last
            })
          let seenBefore = try await clientB.kv.range("", prefix: true, limit: 1).revision

          // Failover: a is fenced first, b drained, compacted and promoted.
          let plan = try await repairs.failover(cluster: "a", by: "alice", reason: "site drill")
          #expect(plan.state == .succeeded, "\(plan.outcome ?? "")")
          #expect(plan.steps.map(\.action) == [.fenceSide, .drainStandby, .compactNewSide, .switchActive, .verify])
          // Every write acknowledged before the switch was applied on b; what the RPO counts beyond it are
          // Vigil's own probe and heartbeat writes cut off by the fence.
          let applied = Int64(plan.context["failover.appliedRevision"] ?? "") ?? 0
          #expect(applied >= last, "\(plan.steps.map { $0.detail ?? "" })")
          #expect(Int(plan.context["failover.lostRevisions"] ?? "") != nil)
          let onB = try await clientB.kv.range("/app/", prefix: true)
          #expect(onB.count == 51)
          #expect(try await clientB.kv.get("/app/last")?.valueString == "a")
          // Revisions on the new side are ahead of everything clients saw on a, and old watches relist.
          #expect(onB.revision > last)
          #expect(onB.revision > seenBefore)
          let after = try #require(await Self.published(monitor, repairs))
          #expect(after.active == "b" && after.standby == "a")
          #expect(try await eventually { Set((await Self.published(monitor, repairs))?.endpoints ?? []) == (await Self.endpoints(b)) })
          let sd = EndpointDirectory.serviceDiscovery(await HTTPAPI.published(monitor: monitor, repairs: repairs))
          #expect(sd.first { $0.labels["cluster"] == "a" }?.labels["etcd_cluster"] == "b")
          let audit = try monitor.store.audit(cluster: "a")
          #expect(audit.contains { $0.planID == plan.id && $0.step == "fence-old-side" && $0.result == "ok" })

          // The old primary comes back (Vigil restarts it) as the standby of b, rebuilt from it.
          try await clientB.kv.put("/app/onB", "written after the failover")
          #expect(
            try await eventually(timeout: .seconds(90)) {
              try await clientA.kv.get("/app/onB", consistency: .serializable)?.valueString == "written after the failover"
            })

          // Failback: the same runbook, the other way.
          let back = try await repairs.failover(cluster: "a", by: "alice", reason: "site back")
          #expect(back.state == .succeeded, "\(back.outcome ?? "")")
          #expect(back.context["from"] == "b" && back.context["to"] == "a")
          #expect(try await clientA.kv.get("/app/onB")?.valueString == "written after the failover")
          #expect(try await clientA.kv.range("/app/", prefix: true).count == 52)
          #expect((await Self.published(monitor, repairs))?.active == "a")
          _ = dir
        }
      }
    }
  }

  @Test func aClusterWithoutAStandbyCannotFailOver() async throws {
    try await withTestCluster(members: 1) { c, _ in
      try await withRepair([("c", c)]) { _, repairs, _ in
        await #expect(throws: RepairRequestError.self) { try await repairs.failover(cluster: "c", by: "alice", reason: "") }
        do { _ = try await repairs.failover(cluster: "c", by: "alice", reason: "") } catch let e as RepairRequestError {
          #expect(e.status == 409 && e.message.contains("has no standby"))
        }
      }
    }
  }
}
