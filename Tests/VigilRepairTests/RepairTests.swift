import Foundation
import Testing
import VigilCore
import VigilEtcd
import VigilLocal
import VigilMonitor
import VigilRepair
import VigilStore
import VigilTestKit

/// Faults injected into real etcd processes, repaired by Vigil; each test checks the end state.
@Suite("Repair against real etcd", .serialized)
struct RepairTests {
  @Test func aKilledMemberIsRestartedAndItsIncidentGetsAnMTTR() async throws {
    try await withTestCluster { cluster, client in
      try await withRepair([("c", cluster)]) { monitor, repairs, _ in
        #expect(try await eventually { await monitor.health(of: "c/m2") == .healthy })
        let before = try await client.cluster.list().first { $0.name == "m2" }?.id
        try await cluster.kill("m2")
        let plan = try #require(try await finishedPlan(monitor.store, .restartMember))
        #expect(plan.state == .succeeded, "\(plan.outcome ?? "")")
        #expect(plan.member == "m2")
        #expect(try await cluster.state(of: "m2") == .running)
        #expect(try await allVotersHealthy(client, voters: 3))
        // Same member, same identity: restarted in place.
        #expect(try await client.cluster.list().first { $0.name == "m2" }?.id == before)
        try expectAudited(monitor.store, plan)
        let incidentID = try #require(plan.incidentID)
        let incident = try #require(try monitor.store.incident(id: incidentID))
        #expect(incident.fault == .crashed)
        #expect(incident.mttd != nil)
        #expect(incident.mttr != nil)
        #expect(incident.timeline.contains { $0.kind == "repair" && $0.text.contains("restart-member") })
        #expect(try await eventually { try monitor.store.incident(id: incident.id)?.closedAt != nil })
        #expect(await repairs.finishedPlans.count == 1)
      }
    }
  }

  @Test func aFrozenMemberIsKilledAndStartedAgain() async throws {
    try await withTestCluster { cluster, client in
      try await withRepair([("c", cluster)]) { monitor, _, _ in
        #expect(try await eventually { await monitor.health(of: "c/m3") == .healthy })
        let frozenPID = try await cluster.pid(of: "m3")
        try await cluster.freeze("m3")
        let plan = try #require(try await finishedPlan(monitor.store, .unstickMember))
        #expect(plan.state == .succeeded, "\(plan.outcome ?? "")")
        #expect(plan.steps.map(\.action) == [.kill, .start, .waitHealthy, .verify])
        #expect(try await cluster.state(of: "m3") == .running)
        #expect(try await cluster.pid(of: "m3") != frozenPID)
        #expect(try await allVotersHealthy(client, voters: 3))
        try expectAudited(monitor.store, plan)
        let incidentID = try #require(plan.incidentID)
        #expect(try monitor.store.incident(id: incidentID)?.mttr != nil)
      }
    }
  }

  @Test func aWipedMemberIsReplacedThroughALearnerAndKeepsEveryKey() async throws {
    try await withTestCluster { cluster, client in
      for i in 0..<300 { try await client.kv.put("/data/\(i)", "value-\(i)") }
      try await withRepair([("c", cluster)]) { monitor, _, dir in
        #expect(try await eventually { await monitor.health(of: "c/m2") == .healthy })
        let old = try #require(try await client.cluster.list().first { $0.name == "m2" })
        let oldDir = try await cluster.member("m2").dataDir
        try await cluster.kill("m2")
        try await cluster.wipe("m2")
        let plan = try #require(try await finishedPlan(monitor.store, .replaceMember))
        #expect(plan.state == .succeeded, "\(plan.outcome ?? "") \(plan.steps.map { "\($0.label): \($0.detail ?? "")" })")
        #expect(plan.fault == .dataLoss)
        #expect(plan.steps.allSatisfy { $0.state == .done })
        let list = try await client.cluster.list()
        #expect(list.count == 3 && !list.contains { $0.isLearner })
        #expect(!list.contains { $0.id == old.id || $0.name == "m2" })
        let newName = try #require(plan.context["new.name"])
        let new = try #require(list.first { $0.name == newName })
        #expect(new.id != old.id)
        // Never reuse a removed member's data dir.
        #expect(try await cluster.member(newName).dataDir != oldDir)
        #expect(try await allVotersHealthy(client, voters: 3))
        // Every key is on the new member (a local, serializable read there).
        let pinned = client.member(try EtcdEndpoint(parsing: try #require(new.clientURLs.first)))
        let keys = try await pinned.kv.range("/data/", prefix: true, consistency: .serializable, countOnly: true)
        await pinned.shutdown()
        #expect(keys.count == 300)
        // The snapshot taken before the membership change exists.
        #expect(FileManager.default.fileExists(atPath: try #require(plan.context["snapshot"])))
        #expect(plan.context["snapshot"]?.hasPrefix(dir) == true)
        try expectAudited(monitor.store, plan)
        let incidentID = try #require(plan.incidentID)
        let incident = try #require(try monitor.store.incident(id: incidentID))
        #expect(incident.mttr != nil)
        #expect(incident.timeline.contains { $0.kind == "repair" && $0.text.contains("promote") })
      }
    }
  }

  @Test func noSpaceIsClearedAndWritesAreAcceptedAgain() async throws {
    let quota: Int64 = 4 << 20
    try await withTestCluster(configure: { $0.quotaBackendBytes = quota }) { cluster, client in
      try await withRepair([("c", cluster)], repair: "  keepRevisions: 5", quotaBytes: quota) { monitor, _, _ in
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })
        // History, not live data, fills the quota: four keys overwritten again and again.
        let value = String(repeating: "x", count: 64 << 10)
        var full = false
        for i in 0..<400 where !full {
          do { try await client.kv.put("/churn/\(i % 4)", value) } catch let e as EtcdError where e.code == .noSpace {
            full = true
          }
        }
        #expect(full)
        let plan = try #require(try await finishedPlan(monitor.store, .clearNoSpace))
        #expect(plan.state == .succeeded, "\(plan.outcome ?? "") \(plan.steps.map { "\($0.label): \($0.detail ?? "")" })")
        #expect(plan.steps.map(\.action).filter { $0 == .defragment }.count == 3)
        #expect(try await client.maintenance.alarms().isEmpty)
        try await client.kv.put("/after", "accepted")
        #expect(try await client.kv.get("/after")?.valueString == "accepted")
        #expect(try await client.kv.get("/churn/1") != nil)  // live data kept
        try expectAudited(monitor.store, plan)
      }
    }
  }

  @Test func aFragmentedClusterIsDefragmentedOneMemberAtATime() async throws {
    try await withTestCluster { cluster, client in
      let value = String(repeating: "y", count: 4 << 10)
      for i in 0..<1500 { try await client.kv.put("/frag/\(i)", value) }
      _ = try await client.kv.delete("/frag/", prefix: true)
      let revision = try await client.maintenance.status().revision
      try await client.kv.compact(revision: revision, physical: true)
      let before = try await client.maintenance.status()
      #expect(before.dbSize > 2 * before.dbSizeInUse)
      try await withRepair(
        [("c", cluster)], inspections: "  fragmentationMinimumBytes: 1048576"
      ) { monitor, _, _ in
        let plan = try #require(try await finishedPlan(monitor.store, .defragment))
        #expect(plan.state == .succeeded, "\(plan.outcome ?? "")")
        let order = plan.steps.filter { $0.action == .defragment }.compactMap(\.member)
        #expect(Set(order) == ["m1", "m2", "m3"])
        // Leader last.
        let leaderID = try await client.maintenance.status().leader
        let leaderName = try await client.cluster.list().first { $0.id == leaderID }?.name
        #expect(order.last == leaderName)
        for m in await cluster.members {
          let pinned = client.member(m.clientEndpoint)
          let s = try await pinned.maintenance.status()
          #expect(s.dbSize < before.dbSize / 2, "\(m.name): \(s.dbSize) bytes")
        }
        try expectAudited(monitor.store, plan)
      }
    }
  }

  @Test func twoOfThreeDownMeansNoMembershipChangeAndAnEscalation() async throws {
    try await withTestCluster { cluster, client in
      try await withRepair([("c", cluster)]) { monitor, repairs, _ in
        #expect(try await eventually { await monitor.health(of: "c/m3") == .healthy })
        let before = Set(try await client.cluster.list().map(\.id))
        try await cluster.kill("m2")
        try await cluster.kill("m3")
        try await cluster.wipe("m2")
        try await cluster.wipe("m3")
        #expect(
          try await eventually {
            try monitor.store.audit(cluster: "c").contains { $0.action == "escalated" && $0.reason.contains("storm brake") }
          })
        try await Task.sleep(for: .seconds(2))
        #expect(try monitor.store.plans(cluster: "c").isEmpty)
        #expect(await repairs.escalations.contains("c/storm"))
        // The member list never changed.
        let pinned = client.member(try await cluster.member("m1").clientEndpoint).withCallTimeout(.seconds(2))
        let list = try await pinned.cluster.list()
        #expect(Set(list.map(\.id)) == before)
      }
    }
  }
}
