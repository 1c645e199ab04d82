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
@Suite("Failover to a standby cluster", .serialized)
struct StandbyFailoverTests {
  static func published(_ monitor: Monitor, _ repairs: RepairCoordinator) async -> PublishedEndpoints? {
    EndpointDirectory.entry("a", in: await HTTPAPI.published(monitor: monitor, repairs: repairs))
  }

  /// The mirror from a runs and has applied `revision`.
  static func mirrored(_ monitor: Monitor, upTo revision: Int64) async throws -> Bool {
    try await eventually {
      guard let s = await monitor.status().clusters.first(where: { $0.name == "a" })?.standby else { return false }
      return s.phase == .mirroring && s.appliedRevision >= revision
    }
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
          #expect(try await Self.mirrored(monitor, upTo: last))
          let seenBefore = try await clientB.kv.range("", prefix: true, limit: 1).revision

          // Failover: a is fenced first, b drained, compacted and promoted.
          let plan = try await repairs.failover(cluster: "a", by: "alice", reason: "site drill")
          #expect(plan.state == .succeeded, "\(plan.outcome ?? "")")
          #expect(plan.steps.map(\.action) == [.fenceSide, .drainStandby, .compactNewSide, .switchActive, .verify, .startOldSide])
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
          let audit = try await monitor.store.audit(cluster: "a")
          #expect(audit.contains { $0.planID == plan.id && $0.step == "fence-old-side" && $0.result == "ok" })

          // The old primary comes back (Vigil restarts it) as the standby of b, rebuilt from it.
          try await clientB.kv.put("/app/onB", "written after the failover")
          #expect(
            try await eventually(timeout: .seconds(90)) {
              try await clientA.kv.get("/app/onB", consistency: .serializable)?.valueString == "written after the failover"
            })

          // Failback: the same runbook, the other way, once no other plan runs on the pair (Vigil may still be
          // finishing a restart of a's members).
          #expect(
            try await eventually(timeout: .seconds(60)) {
              try await monitor.store.plans(cluster: "a", states: [.running, .ready, .awaitingApproval]).isEmpty
            })
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

  @Test func aPrimaryThatLosesItsQuorumIsFailedOverByVigil() async throws {
    try await withTestCluster(members: 3) { a, clientA in
      try await withTestCluster(members: 1) { b, clientB in
        try await withRepair(
          [("a", a), ("b", b)], repair: "  failoverMode: auto\n  failoverAfter: 1s",
          extra: "standby: {heartbeatInterval: 200ms, revisionMargin: 100}", perCluster: ["a": "standby: b"]
        ) { monitor, repairs, _ in
          for i in 0..<20 { try await clientA.kv.put("/app/\(i)", "v\(i)") }
          let last = try await clientA.kv.put("/app/last", "end").revision
          #expect(try await Self.mirrored(monitor, upTo: last))
          // Two of three members lost with their data: a cannot serve again by itself.
          try await a.kill(["m1", "m2"])
          try await a.wipe("m1")
          try await a.wipe("m2")
          let plan = try #require(try await finishedPlan(monitor.store, .promoteStandby, cluster: "a", timeout: .seconds(90)))
          #expect(plan.state == .succeeded, "\(plan.outcome ?? "")")
          #expect(plan.requestedBy == "vigil" && plan.fault == .quorumLost)
          #expect(plan.context["from"] == "a" && plan.context["to"] == "b")
          // m3 was fenced, then started again with m1 and m2 (whose data is gone: they cannot start).
          #expect(plan.steps.first { $0.action == .fenceSide }?.detail?.contains("m3") == true)
          #expect(plan.steps.first { $0.action == .startOldSide }?.detail?.contains("not started now") == true)
          #expect(try await clientB.kv.get("/app/last")?.valueString == "end")
          #expect(try await clientB.kv.range("/app/", prefix: true).count == 21)
          #expect(await repairs.activeSide(of: "a") == "b")
          #expect(try await eventually { (await Self.published(monitor, repairs))?.endpoints == (await Self.endpoints(b)).sorted() })
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
