import Foundation
import Testing
import VigilEtcd
import VigilRuntime
import VigilTestKit

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Local cluster runtime")
struct LocalClusterTests {
  @Test(arguments: [1, 3, 5])
  func startsHealthyClustersOfEachSize(members: Int) async throws {
    try await withTestCluster(members: members) { cluster, client in
      let list = try await client.cluster.list()
      #expect(list.count == members)
      #expect(Set(list.map(\.name)) == Set((1...members).map { "m\($0)" }))
      let ports = await cluster.members.flatMap { [$0.clientEndpoint.port, Int($0.peerURL.split(separator: ":").last!)!] }
      #expect(Set(ports).count == members * 2)
      for member in await cluster.members {
        #expect(FileManager.default.fileExists(atPath: member.dataDir + "/member"))
        let log = try String(contentsOfFile: member.logFile, encoding: .utf8)
        #expect(log.contains(member.name))
      }
    }
  }

  @Test func killedMemberStartsAgainWithItsData() async throws {
    try await withTestCluster { cluster, client in
      try await client.kv.put("/keep", "1")
      // Kill a follower, so the write below does not wait out an election.
      var follower = "m2"
      for member in await cluster.members {
        if try await !client.member(member.clientEndpoint).maintenance.status().isLeader {
          follower = member.name
          break
        }
      }
      let pid = try #require(try await cluster.pid(of: follower))
      try await cluster.kill(follower)
      #expect(Glibc.kill(pid, 0) != 0)  // the process is gone
      #expect(try await cluster.state(of: follower) == .stopped)
      // The other two keep quorum (the write is retried if it was sent on the dying connection).
      try await createEventually(client, "/keep2", "2")
      try await cluster.start(follower)
      let restarted = client.member(try await cluster.member(follower).clientEndpoint)
      let caughtUp = try await eventually {
        try await restarted.kv.get("/keep2", consistency: .serializable)?.valueString == "2"
      }
      #expect(caughtUp)
    }
  }

  @Test func membersKilledTogetherAreAllGoneAndStartAgainWithTheirData() async throws {
    try await withTestCluster { cluster, client in
      try await client.kv.put("/keep", "1")
      let pids = [try #require(try await cluster.pid(of: "m1")), try #require(try await cluster.pid(of: "m2"))]
      try await cluster.kill(["m1", "m2"])
      for pid in pids { #expect(Glibc.kill(pid, 0) != 0) }
      #expect(try await cluster.state(of: "m1") == .stopped)
      #expect(try await cluster.state(of: "m2") == .stopped)
      #expect(try await cluster.state(of: "m3") == .running)
      // Killing a member that is already down is not an error.
      try await cluster.kill(["m1"])
      try await cluster.start("m1")
      try await cluster.start("m2")
      #expect(try await eventually { try await client.kv.get("/keep")?.valueString == "1" })
    }
  }

  @Test func frozenMemberStopsAnsweringAndThawsBack() async throws {
    try await withTestCluster { cluster, client in
      var config = cluster.clientConfiguration(endpoints: [try await cluster.member("m3").clientEndpoint])
      config.callTimeout = .milliseconds(400)
      let m3 = try EtcdClient(configuration: config)
      // A busy machine can make one call slower than 400 ms: wait until it answers at all.
      #expect(try await eventually { (try? await m3.maintenance.status()) != nil })
      try await cluster.freeze("m3")
      #expect(try await cluster.state(of: "m3") == .frozen)
      do {
        _ = try await m3.maintenance.status()
        Issue.record("a frozen member answered")
      } catch let error as EtcdError {
        #expect(error.code == .timedOut)
      }
      try await cluster.unfreeze("m3")
      let back = try await eventually { (try? await m3.maintenance.status()) != nil }
      #expect(back)
      await m3.shutdown()
      _ = client
    }
  }

  @Test func wipedMemberLosesItsDataDir() async throws {
    try await withTestCluster { cluster, _ in
      let m1 = try await cluster.member("m1")
      await #expect(throws: LocalClusterError.self) { try await cluster.wipe("m1") }  // still running
      try await cluster.stop("m1")
      try await cluster.wipe("m1")
      #expect(!FileManager.default.fileExists(atPath: m1.dataDir))
    }
  }

  @Test func processesDoNotOutliveShutdownOrAFailingTest() async throws {
    struct Boom: Error {}
    var pids: [Int32] = []
    var directory = ""
    do {
      try await withTestCluster { cluster, _ in
        for name in ["m1", "m2", "m3"] { pids.append(try #require(try await cluster.pid(of: name))) }
        directory = cluster.directory
        try await cluster.freeze("m2")  // even a frozen member is cleaned up
        throw Boom()
      }
    } catch is Boom {}
    #expect(pids.count == 3)
    for pid in pids { #expect(Glibc.kill(pid, 0) != 0, "etcd pid \(pid) survived") }
    #expect(!FileManager.default.fileExists(atPath: directory))
  }

  @Test func reaperKillsMembersWhenTheOwnerDiesWithoutCleanup() async throws {
    // A child `vigil cluster up` is the owner; SIGKILL it and check that its
    // etcd processes die too.
    let vigil = try #require(vigilExecutablePath(), "build the vigil executable first")
    try await withTemporaryDirectory { dir in
      let state = dir + "/state"
      let process = Process()
      process.executableURL = URL(fileURLWithPath: vigil)
      process.arguments = ["cluster", "up", "--members", "1", "--dir", state, "--refresh", "0", "--stop-with-parent"]
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      let pidFile = state + "/m1/etcd.pid"
      let started = try await eventually { FileManager.default.fileExists(atPath: pidFile) }
      #expect(started)
      let etcdPid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8)))
      #expect(Glibc.kill(etcdPid, 0) == 0)
      Glibc.kill(process.processIdentifier, SIGKILL)
      while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
      let gone = try await eventually(timeout: .seconds(10)) { Glibc.kill(etcdPid, 0) != 0 }
      #expect(gone, "etcd outlived its owner")
    }
  }

  @Test func newMemberDirectoryIsNeverReused() async throws {
    try await withTemporaryDirectory { dir in
      let first = try await LocalCluster.start(LocalClusterOptions(members: 1, directory: dir))
      await first.shutdown()
      do {
        _ = try await LocalCluster.start(LocalClusterOptions(members: 1, directory: dir))
        Issue.record("a second cluster reused an existing data dir")
      } catch let error as LocalClusterError {
        #expect(error.message.contains("never reuses"))
      }
    }
  }
}
