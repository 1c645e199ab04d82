import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilMonitor
import VigilRuntime
import VigilServer
import VigilTestKit

/// Two `vigil serve` replicas guarding one cluster, coordinated through a second real etcd (the management
/// cluster) and sharing one history store in a real PostgreSQL: the cluster's shard belongs to one of them,
/// which alone repairs it; the other refuses a repair by hand and names why, and does not alert on it, yet
/// reads the owner's plan from the shared journal; when the owner stops, the other takes the shard over and
/// repairs; both replicas' audit entries form one intact chain.
@Suite("vigil serve as replicas", .serialized)
struct ReplicaServeTests {
  @Test func onlyTheOwnerRepairsAndTheOtherTakesOverWhenItStops() async throws {
    try await withTestCluster(members: 1) { management, _ in
      try await withTestCluster { cluster, _ in
        try await withTemporaryDirectory { dir in
          try await withPostgresServer { postgres in
          try await AlertDeliveryTests().withReceiver { receiver, inbox in
          let endpoints = await management.endpoints.map(\.description).joined(separator: ", ")
          // Each replica alerts to a path of its own.
          func config(_ id: String) async throws -> VigilConfiguration {
            try await LiveServe.configuration(
              cluster, dir: dir + "/" + id,
              extra: """
                coordination: {endpoints: [\(endpoints)], replicaID: \(id), leaseTTL: 5s, shards: 8}
                history: {postgres: "\(postgres)"}
                alerts: {receivers: [{kind: webhook, url: "\(receiver)/\(id)"}]}
                """)
          }
          let map = ShardMap(shards: 8)
          let owner = map.owner(of: map.shard(of: "c"), among: ["vigil-a", "vigil-b"])!
          let other = owner == "vigil-a" ? "vigil-b" : "vigil-a"
          let repair = #"{"runbook": "defragment", "cluster": "c", "member": "m1", "operator": "test", "reason": "replicas"}"#
          try await LiveServe.run(try await config(other)) { otherURL, otherMonitor in
            let ownerDone = Task {
              try await LiveServe.run(try await config(owner)) { ownerURL, ownerMonitor in
                // Both see both; the shards split as the map says.
                #expect(
                  try await eventually(timeout: .seconds(30)) {
                    let a = try await LiveServe.send(.GET, ownerURL + "/v1/coordination").body
                    let b = try await LiveServe.send(.GET, otherURL + "/v1/coordination").body
                    return a.contains("\"\(other)\"") && b.contains("\"\(owner)\"") && a.contains("\"leaseValid\" : true")
                      && Self.owned(b) == map.shards(of: other, among: ["vigil-a", "vigil-b"])
                      && Self.owned(a) == map.shards(of: owner, among: ["vigil-a", "vigil-b"])
                  })
                // Each replica probes only what it owns.
                #expect(try await eventually { await ownerMonitor.guardedClusters == ["c"] })
                #expect(await otherMonitor.guardedClusters.isEmpty)
                // Vigil watches its coordination loops like its others.
                #expect(otherMonitor.liveness.loops.contains("coordination:renew"))
                #expect(otherMonitor.liveness.loops.contains("coordination:balance"))
                let refused = try await LiveServe.send(.POST, otherURL + "/v1/repairs", body: repair)
                #expect(refused.status == 409 && refused.body.contains("another replica"), "\(refused.body)")
                // The owner repairs.
                let done = try await Self.repairAsOwner(ownerURL, repair)
                #expect(done.status == 200 && done.body.contains("\"succeeded\""), "\(done.body)")
                // One journal: the other replica reads the owner's plan.
                let listed = try await LiveServe.send(.GET, otherURL + "/v1/repairs?cluster=c").body
                #expect(listed.contains("\"defragment\"") && listed.contains("\"succeeded\""), "\(listed)")
                // Quorum lost: the owner sees it and alerts; the other does not.
                try await cluster.kill(["m2", "m3"])
                #expect(
                  try await eventually(timeout: .seconds(60)) {
                    inbox.bodies("/\(owner)").contains { $0.contains("\"status\":\"firing\"") && $0.contains("VigilQuorumLost") }
                  })
                try await Task.sleep(for: .seconds(3))
                #expect(inbox.bodies("/\(other)").isEmpty, "\(inbox.bodies("/\(other)"))")
                try await cluster.start("m2")
                try await cluster.start("m3")
                #expect(try await eventually(timeout: .seconds(60)) { await ownerMonitor.health(of: "c") == .healthy })
                #expect(await otherMonitor.guardedClusters.isEmpty)
              }
            }
            try await ownerDone.value
            // The owner stopped (its lease revoked on the way out): the other takes every shard and repairs.
            #expect(
              try await eventually(timeout: .seconds(30)) {
                Self.owned(try await LiveServe.send(.GET, otherURL + "/v1/coordination").body) == Set(0..<8)
              })
            #expect(try await eventually(timeout: .seconds(30)) { await otherMonitor.health(of: "c") == .healthy })
            #expect(await otherMonitor.guardedClusters == ["c"])
            let now = try await Self.repairAsOwner(otherURL, repair)
            #expect(now.status == 200 && now.body.contains("\"succeeded\""), "\(now.body)")
            // Both plans in the one store, and both replicas' audit entries in one intact chain.
            let plans = try await otherMonitor.store.plans(cluster: "c").filter { $0.runbook == .defragment }
            #expect(plans.count == 2 && plans.allSatisfy { $0.state == .succeeded }, "\(plans)")
            let verification = try await otherMonitor.store.verifyAudit()
            #expect(verification.ok, "\(verification)")
            let audited = Set(try await otherMonitor.store.audit(cluster: "c", limit: 1000).compactMap(\.planID))
            #expect(Set(plans.map(\.id)).isSubset(of: audited), "\(audited)")
          }
          }
          }
        }
      }
    }
  }

  /// A repair by hand on the owner, asked again while it answers 409 (on a loaded machine the owner's lease
  /// may be uncertain for a moment, and it then refuses like a replica that does not own the cluster).
  static func repairAsOwner(_ url: String, _ body: String) async throws -> (status: Int, body: String) {
    var last = (status: 0, body: "")
    _ = try await eventually(timeout: .seconds(30)) {
      let answer = try await LiveServe.send(.POST, url + "/v1/repairs", body: body)
      last = (answer.status, answer.body)
      return answer.status != 409
    }
    return last
  }

  static func owned(_ body: String) -> Set<Int> {
    guard let data = body.data(using: .utf8),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let shards = object["ownedShards"] as? [Int]
    else { return [] }
    return Set(shards)
  }
}
