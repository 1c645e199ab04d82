import Foundation
import Testing
import VigilCore
import VigilEtcd
import VigilProbes
import VigilRuntime
import VigilStore
import VigilTestKit

/// Vigil as replicas, as real processes over members run by the exec driver (run in the test command's "sites"
/// batch, with the other multi-process replica tests).
@Suite("replicas of vigil serve and a kill -9", .serialized)
struct ReplicaExecTests {
  /// Two `vigil serve` replicas (a management etcd, one PostgreSQL store): the owner of the cluster is killed -9
  /// in the middle of replace-member; the other takes the cluster over once the owner's lease expired, resumes
  /// the plan from the shared journal and finishes it without repeating a step that was done.
  @Test func anotherReplicaFinishesAReplaceMemberWhoseOwnerWasKilledMidPlan() async throws {
    try await withTestCluster(members: 1) { management, _ in
      try await withPostgresServer { postgres in
        try await withTemporaryDirectory { root in
          try await ScriptedCluster.with(root: root) { scripted, client in
            for i in 0..<100 { try await client.kv.put("/keep/\(i)", "v\(i)") }

            let map = ShardMap(shards: 8)
            let owner = try #require(map.owner(of: map.shard(of: "x"), among: ["vigil-a", "vigil-b"]))
            let other = owner == "vigil-a" ? "vigil-b" : "vigil-a"
            let ports = try FreePort.pick(count: 2)
            let endpoints = await management.endpoints.map(\.description).joined(separator: ", ")
            func config(_ id: String, _ port: Int) throws -> String {
              try scripted.vigilConfig(
                stateDir: root + "/state-\(id)", port: port, name: id,
                extra: """
                  coordination: {endpoints: [\(endpoints)], replicaID: \(id), leaseTTL: 5s, shards: 8}
                  history: {postgres: "\(postgres)"}
                  """)
            }
            let ownerURL = "http://127.0.0.1:\(ports[0])"
            let ownerServe = try ServeProcess(config: try config(owner, ports[0]), output: root + "/\(owner).out")
            defer { if ownerServe.process.isRunning { kill(ownerServe.process.processIdentifier, SIGKILL) } }
            let otherServe = try ServeProcess(config: try config(other, ports[1]), output: root + "/\(other).out")
            defer { if otherServe.process.isRunning { kill(otherServe.process.processIdentifier, SIGKILL) } }
            // The owner holds x's shard and has seen the cluster healthy.
            #expect(
              try await eventually(timeout: .seconds(60)) {
                let body = (try? await HTTPExchange.send(.GET, url: ownerURL + "/v1/coordination"))?.body ?? ""
                let status = (try? await HTTPExchange.send(.GET, url: ownerURL + "/status"))?.body ?? ""
                return body.contains("\"leaseValid\" : true") && status.contains("\"healthy\"")
              })

            // m2's data is lost; the owner plans replace-member and is held at the new member's start: kill -9 it.
            let old = try #require(try await client.cluster.list().first { $0.name == "m2" })
            let store = try await HistoryStore(postgres: try PostgresAddress.parse(postgres))
            let plan = try await scripted.loseMemberAndWaitForItsReplacementToStart("m2", store: store)
            #expect(try await ownerServe.stop(signal: SIGKILL) == 9)
            #expect(!(try await client.cluster.list().contains { $0.id == old.id }))  // removed before the kill

            // The other replica takes x over after the owner's lease expired and finishes the same plan.
            try scripted.releaseNewMembers()
            let finished = try await ScriptedCluster.finished(plan.id, in: store, timeout: .seconds(90))
            #expect(finished?.state == .succeeded, "\(finished?.outcome ?? "") \(finished?.steps.map { "\($0.label): \($0.detail ?? "")" } ?? [])")
            let audit = try await store.audit(planID: plan.id, limit: 1000, ascending: true)
            let resumed = audit.filter { $0.action == "resumed-plan" }
            #expect(resumed.count == 1 && resumed[0].reason.contains("replica \(other)"), "\(resumed.map(\.reason))")
            // Each step done once, on one replica: those before the kill on the owner, the rest on the other.
            let steps = audit.filter { $0.action == "step" }
            #expect(Dictionary(grouping: steps, by: { $0.step ?? "" }).values.allSatisfy { $0.count == 1 }, "\(steps.map { $0.step ?? "" })")
            #expect(steps.count == finished?.steps.count)
            func ranOn(_ label: String) -> String? {
              steps.first { $0.step?.hasPrefix(label) == true }?.inputs.components(separatedBy: ";").first
            }
            #expect(ranOn("remove-member m2") == "replica=\(owner)" && ranOn("add-learner") == "replica=\(owner)")
            #expect(ranOn("promote") == "replica=\(other)", "\(steps.map(\.inputs))")
            #expect(try await store.verifyAudit().ok)
            let list = try await client.cluster.list()
            #expect(list.count == 3 && !list.contains(where: \.isLearner))
            #expect(try await otherServe.stop(signal: SIGTERM) == 0)
          }
        }
      }
    }
  }
}
