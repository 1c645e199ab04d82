import Foundation
import GRDB
import Testing
import VigilBackup
import VigilCore
import VigilEtcd
import VigilRuntime
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
        try await expectAudited(monitor.store, plan)
        let incidentID = try #require(plan.incidentID)
        let incident = try #require(try await monitor.store.incident(id: incidentID))
        #expect(incident.fault == .crashed)
        #expect(incident.mttd != nil)
        #expect(incident.mttr != nil)
        #expect(incident.timeline.contains { $0.kind == "repair" && $0.text.contains("restart-member") })
        #expect(try await eventually { try await monitor.store.incident(id: incident.id)?.closedAt != nil })
        #expect(await repairs.finishedPlans.count == 1)
        let metrics = monitor.metrics.exposition().split(separator: "\n")
        #expect(metrics.contains { $0.hasPrefix("vigil_repairs_total") && $0.contains("restart-member") && $0.contains("succeeded") && $0.hasSuffix(" 1") })
        #expect(metrics.contains { $0.hasPrefix("vigil_repair_duration_seconds_count") && $0.contains("restart-member") })
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
        try await expectAudited(monitor.store, plan)
        let incidentID = try #require(plan.incidentID)
        #expect(try await monitor.store.incident(id: incidentID)?.mttr != nil)
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
        // The cluster's client follows the membership: the new member's endpoint in, the removed one's out;
        // and nothing about m2 is left for the planner.
        let oldURL = try #require(old.clientURLs.first)
        let newURL = try #require(new.clientURLs.first)
        #expect(
          try await eventually {
            let endpoints = await monitor.status().clusters[0].endpoints
            return endpoints.contains(newURL) && !endpoints.contains(oldURL)
          })
        #expect(await monitor.currentDiagnoses(cluster: "c").allSatisfy { $0.member != "m2" })
        // The snapshot taken before the membership change exists.
        #expect(FileManager.default.fileExists(atPath: try #require(plan.context["snapshot"])))
        #expect(plan.context["snapshot"]?.hasPrefix(dir) == true)
        try await expectAudited(monitor.store, plan)
        let incidentID = try #require(plan.incidentID)
        let incident = try #require(try await monitor.store.incident(id: incidentID))
        #expect(incident.mttr != nil)
        #expect(incident.timeline.contains { $0.kind == "repair" && $0.text.contains("promote") })
      }
    }
  }

  @Test func noSpaceIsClearedAndWritesAreAcceptedAgain() async throws {
    let quota: Int64 = 4 << 20
    try await withTestCluster(configure: { $0.quotaBackendBytes = quota }) { cluster, client in
      try await withRepair([("c", cluster)], repair: "  keepRevisions: 5") { monitor, _, _ in
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
        try await expectAudited(monitor.store, plan)
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
        try await expectAudited(monitor.store, plan)
      }
    }
  }

  @Test func twoOfThreeLostWithoutBackupsMeansNoMembershipChangeAndAnEscalation() async throws {
    try await withTestCluster { cluster, client in
      try await withRepair([("c", cluster)]) { monitor, repairs, _ in
        #expect(try await eventually { await monitor.health(of: "c/m3") == .healthy })
        let before = Set(try await client.cluster.list().map(\.id))
        try await cluster.kill(["m2", "m3"])
        try await cluster.wipe("m2")
        try await cluster.wipe("m3")
        // Quorum lost for good; the restore it needs has nothing to restore from here (backups are off).
        #expect(
          try await eventually {
            try await monitor.store.audit(cluster: "c").contains {
              $0.action == "escalated" && $0.reason.contains("quorum lost for good") && $0.reason.contains("backup.enabled: false")
            }
          })
        try await Task.sleep(for: .seconds(2))
        // A plan may have started for the member that failed first; the guard refused its removal.
        for plan in try await monitor.store.plans(cluster: "c") {
          #expect(plan.state.isFinished && plan.state != .succeeded)
          #expect(plan.steps.first { $0.action == .remove }?.state != .done)
          #expect(!plan.steps.contains { $0.action == .addLearner && $0.state == .done })
        }
        #expect(await repairs.escalations.contains("c//restore"))
        // The member list never changed.
        let pinned = client.member(try await cluster.member("m1").clientEndpoint).withCallTimeout(.seconds(2))
        let list = try await pinned.cluster.list()
        #expect(Set(list.map(\.id)) == before)
      }
    }
  }

  @Test func aQuorumLostForGoodIsRestoredFromBackupOnceAPersonApproves() async throws {
    try await withTestCluster { cluster, client in
      try await withRepair([("c", cluster)], extra: "backup: {flushInterval: 100ms}") { monitor, repairs, dir in
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })
        let store = LocalBackupStore(root: dir + "/backups")
        #expect(
          try await eventually(timeout: .seconds(60)) {
            try await BackupCatalogue(store: store, cluster: "c").snapshots().records.contains { $0.verification == .verified }
          })
        for i in 0..<40 { try await client.kv.put("/keep/\(i)", "v\(i)") }
        let last = try await client.kv.put("/keep/last", "end").revision
        // The change log has it on disk (the open segment in the state dir).
        #expect(
          try await eventually {
            let data = FileManager.default.contents(atPath: dir + "/backup/c/open.log") ?? Data()
            return (ChangeLogFormat.decode(data).records.last?.revision ?? 0) >= last
          })
        // Both at once: one lost alone first would be replaced, correctly, before the other.
        try await cluster.kill(["m1", "m2"])
        try await cluster.wipe("m1")
        try await cluster.wipe("m2")
        // Approve is the default for restores: the plan waits, and the incident says so.
        var waiting: RepairPlan?
        #expect(
          try await eventually(timeout: .seconds(60)) {
            waiting = try await monitor.store.plans(cluster: "c", states: [.awaitingApproval]).first { $0.runbook == .restoreCluster }
            return waiting != nil
          })
        let plan = try #require(waiting)
        #expect(plan.steps.map(\.action) == [.confirmQuorumLost, .fenceAll, .replayChangeLog, .restoreAll, .startAll, .verify])
        #expect(try await cluster.state(of: "m3") == .running)  // nothing was touched without a person
        _ = try await repairs.approve(plan: plan.id, by: "alice")
        let done = try #require(try await finishedPlan(monitor.store, .restoreCluster, timeout: .seconds(120)))
        #expect(done.state == .succeeded, "\(done.outcome ?? "")")
        #expect(try await allVotersHealthy(client, voters: 3))
        // Every write made before the fault is back, revisions line up, and the revision moved past them all.
        let kept = try await client.kv.range("/keep/", prefix: true)
        #expect(kept.count == 41)
        #expect(try await client.kv.get("/keep/last")?.modRevision == last)
        #expect(kept.revision >= last + 1000)
        let replay = done.steps.first { $0.action == .replayChangeLog }?.detail ?? ""
        #expect(replay.contains("RPO 0 revision(s)"), "\(replay)")
        // Every incident the quorum loss opened carries the restore (with its RPO) and an MTTR.
        let faultIncidents = try await monitor.store.incidents(cluster: "c").filter { $0.fault != nil }
        #expect(!faultIncidents.isEmpty)
        for incident in faultIncidents {
          #expect(incident.recoveredAt != nil, "incident \(incident.id) \(incident.subject) has no MTTR")
          #expect(incident.timeline.contains { $0.text.contains("restore-cluster #\(done.id)") && $0.text.contains("RPO") })
        }
        // The new member and cluster ids are not taken for data loss: the cluster settles healthy.
        #expect(try await eventually(timeout: .seconds(60)) { await monitor.health(of: "c") == .healthy })
        try await Task.sleep(for: .seconds(2))
        let after = try await monitor.store.plans(cluster: "c", limit: 20).filter { $0.id > done.id }
        #expect(!after.contains { $0.runbook == .replaceMember }, "\(after.map(\.runbook))")
      }
    }
  }

  @Test func dryRunWritesThePlanAndChangesNothing() async throws {
    try await withTestCluster { cluster, client in
      try await withRepair([("c", cluster)], repair: "  mode: dry-run") { monitor, _, _ in
        // A follower: killing the leader makes the others answer "no leader" for an election's length, which
        // the planner may take for more failed members (and write a restart-members plan beside this one).
        let leader = try await client.maintenance.status().leader
        let members = try await client.cluster.list()
        let victim = try #require(members.first { $0.id != leader }?.name)
        #expect(try await eventually { await monitor.health(of: "c/\(victim)") == .healthy })
        try await cluster.kill(victim)
        var written: RepairPlan?
        #expect(
          try await eventually {
            written = try await monitor.store.plans(cluster: "c").first
            return written != nil
          })
        #expect(written?.state == .dryRun)
        #expect(written?.steps.allSatisfy { $0.state == .pending } == true)
        try await Task.sleep(for: .seconds(2))
        #expect(try await cluster.state(of: victim) == .stopped)
        #expect(try await client.cluster.list() == members)
        #expect(try await monitor.store.plans(cluster: "c").count == 1)
        #expect(try await monitor.store.audit(cluster: "c").contains { $0.action == "plan" && $0.result == "dry-run" })
      }
    }
  }

  @Test func theStormBrakeStopsRepairWhenMostOfTheFleetFailsAtOnce() async throws {
    try await withTestCluster { a, _ in
      try await withTestCluster { b, _ in
        // Some grace: both faults are seen before either could be acted on.
        let repair = "  stormMinClusters: 2\n  policy:\n    crashed: {grace: 3s}"
        try await withRepair([("a", a), ("b", b)], repair: repair) { monitor, repairs, _ in
          #expect(try await eventually { await monitor.health(of: "a/m2") == .healthy })
          #expect(try await eventually { await monitor.health(of: "b/m2") == .healthy })
          try await a.kill("m2")
          try await b.kill("m2")
          #expect(
            try await eventually {
              let escalated = try await monitor.store.audit().filter { $0.action == "escalated" && $0.reason.contains("storm brake") }
              return Set(escalated.map(\.cluster)) == ["a", "b"]
            })
          try await Task.sleep(for: .seconds(1))
          #expect(try await monitor.store.plans().isEmpty)
          #expect(try await a.state(of: "m2") == .stopped)
          #expect(try await b.state(of: "m2") == .stopped)
          // A person looks, starts one member by hand, and resumes the other cluster: it is repaired.
          try await b.start("m2")
          // All of b healthy again: if m2 led b, its peers fail "no leader" until they elect one, and the fleet
          // would still be a storm (2 of 2 clusters unhealthy) when a resumes.
          #expect(
            try await eventually {
              var healthy = true
              for s in ["b", "b/m1", "b/m2", "b/m3"] where await monitor.health(of: s) != .healthy { healthy = false }
              return healthy
            })
          try await repairs.resume(cluster: "a", by: "bob", reason: "network checked")
          // restart-member, or restart-members when a loaded machine made a peer look failed too.
          var plan: RepairPlan?
          #expect(
            try await eventually(timeout: .seconds(60)) {
              plan = try await monitor.store.plans(cluster: "a").first {
                [.restartMember, .restartMembers].contains($0.runbook) && $0.state == .succeeded
              }
              return plan != nil
            })
          #expect(plan.map { $0.runbook == .restartMember || $0.steps.contains { $0.member == "m2" } } == true)
          #expect(try await monitor.store.audit(cluster: "a").contains { $0.action == "resumed" && $0.actor == "bob" })
        }
      }
    }
  }

  @Test func anAlteredAuditEntryFailsVerification() async throws {
    try await withTestCluster { cluster, _ in
      try await withRepair([("c", cluster)]) { monitor, repairs, dir in
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })
        let plan = try await repairs.run(.defragment, cluster: "c", member: nil, by: "carol", reason: "weekly")
        #expect(plan.state == .succeeded, "\(plan.outcome ?? "")")
        let store = monitor.store
        #expect(try await store.verifyAudit().ok)
        let entries = try await store.audit(limit: 1000, ascending: true)
        #expect(entries.count >= 3)
        #expect(entries.first?.actor == "carol")
        // The database refuses edits…
        let queue = try DatabaseQueue(path: dir + "/vigil.sqlite")
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "UPDATE audit SET result = 'ok' WHERE seq = 2") } }
        // …but someone with the file can drop the trigger and rewrite history: the chain shows it.
        try await queue.write { db in
          try db.execute(sql: "DROP TRIGGER auditNoUpdate")
          try db.execute(sql: "UPDATE audit SET actor = 'mallory' WHERE seq = 2")
        }
        try queue.close()
        let verification = try await store.verifyAudit()
        #expect(!verification.ok)
        #expect(verification.firstBadSeq == 2)
        #expect(verification.problem?.contains("altered") == true)
      }
    }
  }
}
