import Foundation
import Testing
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilTestKit

@testable import VigilMonitor

@Suite("Member logs against real etcd", .serialized)
struct MemberLogTests {
  /// A member frozen past etcd's 5 s stream read timeout: its peers log that they lost their raft streams to it,
  /// and their lines join its diagnosis and its incident's timeline.
  @Test func peersLogsOfAFrozenMemberReachItsIncidentTimeline() async throws {
    try await withTestCluster { cluster, _ in
      try await withMonitor(cluster) { monitor in
        #expect(try await eventually { await monitor.health(of: "c/m3") == .healthy })
        try await cluster.freeze("m3")
        // The peers' stream readers time out after 5 s of silence; their lines are read within a log interval.
        var named: Diagnosis?
        for _ in 0..<600 {
          if let d = await memberDiagnosis(monitor, "m3"), d.reason.contains("lost their raft streams to it") {
            named = d
            break
          }
          try await Task.sleep(for: .milliseconds(50))
        }
        let now = await monitor.currentDiagnoses(cluster: "c")
        let d = try #require(named, "\(now)")
        #expect(d.fault == .hung)
        #expect(!d.evidence.isEmpty && d.evidence.allSatisfy { $0.contains("lost TCP streaming connection with remote peer") })
        let incident = try #require(await monitor.openIncidents.first { $0.subject == "c/m3" })
        let quoted = incident.timeline.filter { $0.kind == "diagnosis" && $0.text.contains("\nlog: ") }
        #expect(!quoted.isEmpty, "\(incident.timeline.map(\.text))")
        #expect(quoted.allSatisfy { $0.text.contains("lost TCP streaming connection") })
        try await cluster.unfreeze("m3")
        #expect(try await eventually { await monitor.health(of: "c/m3") == .healthy })
        // Stored with the incident.
        #expect(
          try await eventually {
            try await monitor.store.incidents(cluster: "c").contains { i in
              i.subject == "c/m3" && i.timeline.contains { $0.text.contains("\nlog: ") }
            }
          })
      }
    }
  }

  /// The leader stalled for half a second, again and again (shorter than an election): on each resume it logs
  /// that it sent heartbeats late, "likely from slow disk"; at three moments that is a slow-disk diagnosis and a
  /// finding quoting the lines.
  @Test func aLeaderThatKeepsStallingIsASlowDiskFromItsOwnLog() async throws {
    try await withTestCluster { cluster, client in
      try await withMonitor(cluster) { monitor in
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })
        let leader = try await leaderName(cluster, client)
        for _ in 0..<4 {
          try await cluster.freeze(leader)
          try await Task.sleep(for: .milliseconds(500))
          try await cluster.unfreeze(leader)
          try await Task.sleep(for: .milliseconds(1500))
        }
        #expect(
          try await eventually(timeout: .seconds(30)) {
            await memberDiagnosis(monitor, leader)?.fault == .slowDisk
          })
        let d = try #require(await memberDiagnosis(monitor, leader))
        #expect(d.evidence.contains { $0.contains("failed to send out heartbeat on time") }, "\(d)")
        let findings = await monitor.inspect(cluster: "c")
        let finding = try #require(findings.first { $0.check == "log-slow-disk" })
        #expect(finding.member == leader)
        #expect(finding.evidence.allSatisfy { $0.contains("\"level\":\"warn\"") })
      }
    }
  }

  func leaderName(_ cluster: LocalCluster, _ client: EtcdClient) async throws -> String {
    let status = try await client.maintenance.status()
    let members = try await client.cluster.list()
    return try #require(members.first { $0.id == status.leader }?.name)
  }
}

@Suite("Member log reader")
struct MemberLogReaderTests {
  @Test func aFileIsReadFromItsEndInWholeLinesAndFromItsStartWhenItShrinks() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-log-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try "old line\n".write(toFile: path, atomically: false, encoding: .utf8)
    let reader = MemberLogReader()
    #expect(try await reader.read("c/m1", .file(path), now: 1) == "", "what was there before is not news")
    try append(path, "first\nsecond, half")
    #expect(try await reader.read("c/m1", .file(path), now: 2) == "first\n")
    try append(path, " done\n")
    #expect(try await reader.read("c/m1", .file(path), now: 3) == "second, half done\n")
    try "new\n".write(toFile: path, atomically: false, encoding: .utf8)  // truncated and rewritten
    #expect(try await reader.read("c/m1", .file(path), now: 4) == "new\n")
    await #expect(throws: RuntimeError.self) { try await reader.read("c/m2", .file(path + ".missing"), now: 5) }
  }

  @Test func aCommandCountsOnlyLinesItDidNotPrintBefore() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-log-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try "a\nb\n".write(toFile: path, atomically: false, encoding: .utf8)
    let reader = MemberLogReader()
    let tail = MemberLogSource.command(["tail", "-n", "2", path], environment: [:])
    #expect(try await reader.read("c/m1", tail, now: 1) == "", "the first run learns what is there")
    try append(path, "c\n")
    #expect(try await reader.read("c/m1", tail, now: 2) == "c")
    #expect(try await reader.read("c/m1", tail, now: 3) == "")
    let failing = MemberLogSource.command(["sh", "-c", "echo no journal >&2; exit 3"], environment: [:])
    do {
      _ = try await reader.read("c/m2", failing, now: 4)
      Issue.record("a failing command is an error")
    } catch {
      #expect("\(error)".contains("exited with status 3: no journal"))
    }
  }

  func append(_ path: String, _ text: String) throws {
    let h = try #require(FileHandle(forWritingAtPath: path))
    h.seekToEndOfFile()
    h.write(Data(text.utf8))
    try h.close()
  }
}
