import Foundation
import Testing
import VigilEtcd
import VigilRuntime
import VigilTestKit

@Suite("Membership and maintenance")
struct ClusterTests {
  @Test func learnerIsAddedStartedPromotedAndRemoved() async throws {
    try await withTestCluster { cluster, client in
      for i in 0..<100 { try await client.kv.put("/data/\(i)", String(repeating: "v", count: 100)) }
      let newMember = try await cluster.prepareMember(name: "m4")
      let added = try await retryUnhealthy { try await client.cluster.add(peerURLs: [newMember.peerURL], learner: true) }
      #expect(added.member.isLearner)
      let initial = added.members.map { m in
        (name: m.id == added.member.id ? "m4" : m.name, peerURL: m.peerURLs[0])
      }
      try await cluster.startJoining("m4", initialCluster: initial)

      let learner = client.member(newMember.clientEndpoint)
      let promoted = try await eventually(timeout: .seconds(30)) {
        do {
          try await client.cluster.promote(id: added.member.id)
          return true
        } catch {
          return false  // "can only promote a learner member which is in sync with leader"
        }
      }
      #expect(promoted)
      // etcd 3.4 serves MemberList from the answering member's own view: a follower may list m4 as a learner
      // for a moment after the leader applied the promotion.
      #expect(try await eventually { try await client.cluster.list().allSatisfy { !$0.isLearner } })
      let members = try await client.cluster.list()
      #expect(members.count == 4)
      #expect(members.allSatisfy { !$0.isLearner })
      #expect(try await learner.kv.get("/data/99", consistency: .serializable) != nil)

      try await client.cluster.remove(id: added.member.id)
      try await cluster.forget("m4")
      let after = try await client.cluster.list()
      #expect(after.count == 3)
      #expect(!after.contains { $0.id == added.member.id })
    }
  }

  @Test func statusAlarmsDefragmentAndEqualHashes() async throws {
    try await withTestCluster { cluster, client in
      for i in 0..<200 { try await client.kv.put("/h/\(i % 20)", "value-\(i)") }
      let revision = try await client.kv.put("/h/final", "x").revision
      var leaders = Set<UInt64>()
      var hashes = Set<UInt32>()
      for endpoint in await cluster.endpoints {
        let member = client.member(endpoint)
        let status = try await member.maintenance.status()
        #expect(status.version.hasPrefix("3."))
        #expect(status.dbSize > 0)
        #expect(status.dbSizeInUse > 0)
        #expect(status.raftTerm > 0)
        leaders.insert(status.leader)
        try await member.maintenance.defragment()
        // HashKV at one revision waits for the member to apply it.
        let ok = try await eventually { try await member.maintenance.status().revision >= revision }
        #expect(ok)
        hashes.insert(try await member.maintenance.hashKV(revision: revision).hash)
      }
      #expect(leaders.count == 1)
      #expect(hashes.count == 1)
      #expect(try await client.maintenance.alarms().isEmpty)
    }
  }

  @Test func leadershipMovesToAChosenFollower() async throws {
    try await withTestCluster { cluster, client in
      var leader: EtcdEndpoint?
      var follower: UInt64?
      for endpoint in await cluster.endpoints {
        let status = try await client.member(endpoint).maintenance.status()
        if status.isLeader { leader = endpoint } else { follower = status.memberID }
      }
      let from = try #require(leader)
      let to = try #require(follower)
      try await client.member(from).maintenance.moveLeader(to: to)
      let moved = try await eventually { try await client.member(from).maintenance.status().leader == to }
      #expect(moved)
    }
  }

  @Test func noSpaceAlarmIsReportedAndCleared() async throws {
    try await withTestCluster(
      members: 1, configure: { $0.quotaBackendBytes = 1 << 20 }
    ) { _, client in
      let blob = String(repeating: "x", count: 64 << 10)
      var sawNoSpace = false
      for i in 0..<100 {
        do {
          try await client.kv.put("/fill/\(i)", blob)
        } catch let error as EtcdError {
          #expect(error.code == .noSpace)
          sawNoSpace = true
          break
        }
      }
      #expect(sawNoSpace)
      let alarms = try await client.maintenance.alarms()
      #expect(alarms.contains { $0.kind == .noSpace })
      // Free space the way an operator would: delete, compact, defragment, disarm.
      let rev = try await client.kv.delete("/fill/", prefix: true).revision
      try await client.kv.compact(revision: rev, physical: true)
      try await client.maintenance.defragment()
      try await client.maintenance.disarmAll()
      #expect(try await client.maintenance.alarms().isEmpty)
      try await client.kv.put("/after", "ok")
    }
  }

  @Test func snapshotIsAcceptedByEtcdctl() async throws {
    try await withTestCluster { cluster, client in
      for i in 0..<300 { try await client.kv.put("/snap/\(i)", "value-\(i)") }
      try await withTemporaryDirectory { dir in
        let path = dir + "/snap.db"
        let first = await cluster.endpoints[0]
        let bytes = try await client.member(first).maintenance.snapshot(to: path)
        #expect(bytes > 0)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == Int(bytes))
        let output = try await runEtcdctl(["snapshot", "status", path, "--write-out=json"])
        #expect(output.contains("\"totalKey\""))
        #expect(output.contains("\"revision\""))
      }
    }
  }

  /// etcd 3.4 refuses member add for a few seconds after start-up ("unhealthy cluster").
  /// Replaces `old` the safe way (remove the dead member first, then add the new one as a learner, start it,
  /// promote it once caught up): the new member gets a new name, id and ports.
  func replace(_ old: String, with new: String, in cluster: LocalCluster, via admin: EtcdClient) async throws {
    try await cluster.kill(old)
    let oldID = try #require(try await admin.cluster.list().first { $0.name == old }).id
    // If `old` led, the others elect first and a change may time out; it is done once the list lacks `old`.
    #expect(
      try await eventually(timeout: .seconds(30)) {
        _ = try? await admin.cluster.remove(id: oldID)
        return try await !admin.cluster.list().contains { $0.id == oldID }
      })
    try await cluster.forget(old)
    let joining = try await cluster.prepareMember(name: new)
    // An add that timed out may have been applied: then the member list has it.
    var id: UInt64?
    #expect(
      try await eventually(timeout: .seconds(30)) {
        if let added = try? await admin.cluster.add(peerURLs: [joining.peerURL], learner: true) {
          id = added.member.id
        } else {
          id = try await admin.cluster.list().first { $0.peerURLs.contains(joining.peerURL) }?.id
        }
        return id != nil
      })
    let newID = try #require(id)
    let members = try await admin.cluster.list()
    let initial = members.map { m in (name: m.id == newID ? new : m.name, peerURL: m.peerURLs[0]) }
    try await cluster.startJoining(new, initialCluster: initial)
    #expect(
      try await eventually(timeout: .seconds(30)) {
        (try? await admin.cluster.promote(id: newID)) != nil
      })
  }

  @Test func aClientFollowsTheMembershipPastTheReplacementOfEveryOriginalMember() async throws {
    try await withTestCluster { cluster, admin in
      let seeds = await cluster.endpoints
      var config = cluster.clientConfiguration(endpoints: seeds)
      config.callTimeout = .seconds(3)
      let following = try EtcdClient(configuration: config)
      let seedOnly = try EtcdClient(configuration: config)
      try await following.kv.put("/follow/k", "0")
      try await replace("m2", with: "m2-1", in: cluster, via: admin)
      try await replace("m3", with: "m3-1", in: cluster, via: admin)
      // What the monitor does on a membership change: follow the voters' client URLs.
      let voters = try await admin.cluster.list().filter { !$0.isLearner }
        .compactMap { $0.clientURLs.first }.map { try EtcdEndpoint(parsing: $0) }
      #expect(await following.follow(voters))
      #expect(Set(following.endpoints.map(\.authority)) == Set(voters.map(\.authority)))
      #expect(await !following.follow(voters), "the same list again changes nothing")
      // m1, the last original member, dies: the two replacements still make a quorum.
      try await cluster.kill("m1")
      #expect(
        try await eventually(timeout: .seconds(30)) { (try? await following.kv.put("/follow/k", "1")) != nil },
        "the client that follows reaches the new members")
      #expect(try await following.kv.get("/follow/k")?.valueString == "1")
      // The seed list (m1, old m2, old m3) is all dead or removed.
      await #expect(throws: EtcdError.self) { try await seedOnly.kv.get("/follow/k") }
      // An empty list, and a view pinned to one member, change nothing.
      #expect(await !following.follow([]))
      let pinned = following.member(voters[0])
      #expect(await !pinned.follow(seeds))
      await following.shutdown()
      await seedOnly.shutdown()
    }
  }

  func retryUnhealthy<T>(_ body: () async throws -> T) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(20)
    while true {
      do { return try await body() } catch let error as EtcdError {
        guard ContinuousClock.now < deadline, error.message.contains("unhealthy") else { throw error }
        try await Task.sleep(for: .milliseconds(200))
      }
    }
  }
}

func runEtcdctl(_ args: [String]) async throws -> String {
  var env = ProcessInfo.processInfo.environment
  env["ETCDCTL_API"] = "3"
  let result = try await ChildProcess.run("/usr/bin/etcdctl", args, environment: env)
  return result.stdout + result.stderr
}
