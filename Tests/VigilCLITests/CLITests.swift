import Foundation
import Testing
import VigilCLI
import VigilEtcd
import VigilRuntime
import VigilTestKit

/// Runs the built `vigil` executable and captures its output.
struct VigilRun {
  var status: Int32
  var stdout: String
  var stderr: String

  static func run(_ args: [String], environment: [String: String] = [:]) async throws -> VigilRun {
    let binary = try #require(vigilExecutablePath(), "build the vigil executable first")
    let env = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let result = try await ChildProcess.run(binary, args, environment: env)
    return VigilRun(status: result.status, stdout: result.stdout, stderr: result.stderr)
  }
}

@Suite("vigil CLI")
struct CLITests {
  @Test func statusShowsOneRowPerMember() async throws {
    try await withTestCluster { cluster, client in
      try await client.kv.put("/x", "y")
      let run = try await VigilRun.run(["status", "--endpoints", await cluster.endpointList])
      #expect(run.status == 0, "stderr: \(run.stderr)")
      let lines = run.stdout.split(separator: "\n")
      #expect(lines.count == 4)
      #expect(lines[0].contains("NAME") && lines[0].contains("LEADER") && lines[0].contains("DB"))
      for name in ["m1", "m2", "m3"] { #expect(lines.contains { $0.hasPrefix(name) }) }
      #expect(lines.filter { $0.contains(" yes ") && $0.contains("ok") }.count >= 1)
      #expect(lines.dropFirst().allSatisfy { $0.contains("3.4.") })
    }
  }

  @Test func statusWithOneMemberDownShowsTheErrorAndExitsTwo() async throws {
    try await withTestCluster { cluster, _ in
      try await cluster.kill("m2")
      let run = try await VigilRun.run(["status", "--endpoints", await cluster.endpointList])
      #expect(run.status == 2)
      let m2 = try await cluster.member("m2").clientEndpoint.description
      #expect(run.stdout.split(separator: "\n").contains { $0.contains(m2) && $0.contains("connection refused") })
    }
  }

  @Test(arguments: [
    (["status", "--endpoints", "htp://127.0.0.1:2379"], "unknown scheme \"htp\""),
    (["status", "--endpoints", "127.0.0.1"], "has no port"),
    (["status", "--bogus"], "Unknown option '--bogus'"),
    (["status", "--cert", "/tmp/c.pem"], "--cert and --key go together"),
    (["status", "--timeout", "-1"], "--timeout"),
    (["cluster", "up", "--members", "0"], "--members 0 is out of range"),
    (["bench", "kv", "--callers", "x"], "--callers \"x\""),
    (["frobnicate"], "Unexpected argument 'frobnicate'"),
    (["drill", "run", "nope"], "unknown scenario \"nope\" (expected one of: kill-follower, kill-leader"),
    (["drill", "suite", "--repeat", "0"], "--repeat 0 is out of range"),
    (["drill", "suite", "--cluster", "prod"], "--cluster prod: no such cluster"),
  ])
  func badArgumentsGiveOneClearLine(args: [String], expected: String) async throws {
    let run = try await VigilRun.run(args)
    #expect(run.status != 0)
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(run.stderr)")
    #expect(run.stderr.hasPrefix("vigil: error: "))
    #expect(run.stderr.contains(expected), "stderr: \(run.stderr)")
  }

  @Test func unreachableMemberIsOneLineAndNonZero() async throws {
    let port = try FreePort.pick(count: 1)[0]
    let run = try await VigilRun.run(["status", "--endpoints", "http://127.0.0.1:\(port)", "--timeout", "1"])
    #expect(run.status == 1)
    #expect(run.stderr == "vigil: error: etcd http://127.0.0.1:\(port): connection refused\n")
  }

  @Test func wrongCertificateIsOneLineTLSError() async throws {
    try await withTemporaryDirectory { dir in
      let certs = try await TestCertificates.make(in: dir + "/good")
      let other = try await TestCertificates.make(in: dir + "/other", caName: "other-ca")
      try await withTestCluster(members: 1, configure: { $0.tls = certs.serverTLS }) { cluster, _ in
        let endpoints = await cluster.endpointList
        let good = try await VigilRun.run([
          "status", "--endpoints", endpoints, "--cacert", certs.caFile, "--cert", certs.clientCertificate, "--key",
          certs.clientKey,
        ])
        #expect(good.status == 0, "stderr: \(good.stderr)")
        let bad = try await VigilRun.run([
          "status", "--endpoints", endpoints, "--cacert", other.caFile, "--cert", certs.clientCertificate, "--key",
          certs.clientKey,
        ])
        #expect(bad.status == 1)
        #expect(bad.stderr.split(separator: "\n").count == 1)
        #expect(bad.stderr.contains("TLS"), "stderr: \(bad.stderr)")
        let missing = try await VigilRun.run(["status", "--endpoints", endpoints, "--cacert", dir + "/nope.pem"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("nope.pem"))
      }
    }
  }

  @Test func clusterUpPrintsEndpointsAndStopsCleanlyOnSIGTERM() async throws {
    try await withTemporaryDirectory { dir in
      let process = Process()
      process.executableURL = URL(fileURLWithPath: try #require(vigilExecutablePath()))
      process.arguments = ["cluster", "up", "--members", "3", "--dir", dir + "/state", "--refresh", "0", "--stop-with-parent"]
      let output = dir + "/out.txt"
      FileManager.default.createFile(atPath: output, contents: nil)
      process.standardOutput = FileHandle(forWritingAtPath: output)
      process.standardError = FileHandle.nullDevice
      try process.run()
      let pids = (1...3).map { dir + "/state/m\($0)/etcd.pid" }
      // Up means it printed the endpoints (every member healthy), not just that processes exist.
      let up = try await eventually(timeout: .seconds(60)) {
        (try? String(contentsOfFile: output, encoding: .utf8))?.contains("endpoints: http://127.0.0.1:") == true
      }
      #expect(up)
      let etcdPids = pids.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.compactMap { Int32($0) }
      process.terminate()  // SIGTERM, as a supervisor would
      while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
      let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
      #expect(process.terminationStatus == 0)
      #expect(text.contains("endpoints: http://127.0.0.1:"))
      #expect(text.contains("cluster stopped"))
      for pid in etcdPids { #expect(kill(pid, 0) != 0) }
    }
  }

  @Test func configCheckListsEveryProblemWithItsPathOrPrintsTheResolvedFile() async throws {
    try await withTemporaryDirectory { dir in
      let bad = dir + "/bad.yaml"
      try """
        clusters:
          - name: a
            endpoints: ["htp://x:1"]
            tier: P7
            endpiont: []
        """.write(toFile: bad, atomically: true, encoding: .utf8)
      let run = try await VigilRun.run(["config", "check", bad])
      #expect(run.status == 1)
      let lines = run.stderr.split(separator: "\n")
      #expect(lines.count == 3, "stderr: \(run.stderr)")
      #expect(lines.contains { $0.contains("clusters[0].endpoints[0]") && $0.contains("htp://x:1") })
      #expect(lines.contains { $0.contains("clusters[0].tier") && $0.contains("P7") })
      #expect(lines.contains { $0.contains("clusters[0].endpiont") && $0.contains("did you mean endpoints?") })

      let good = dir + "/good.yaml"
      try """
        clusters:
          - name: dev
            runtime: {kind: local, members: 3}
        """.write(toFile: good, atomically: true, encoding: .utf8)
      let ok = try await VigilRun.run(["config", "check", good])
      #expect(ok.status == 0, "stderr: \(ok.stderr)")
      #expect(ok.stdout.contains("\"probeInterval\" : \"200ms\""))
      #expect(ok.stderr.isEmpty)
    }
  }

  @Test func statusTableRendering() {
    let row = MemberStatusRow(
      endpoint: EtcdEndpoint(host: "127.0.0.1", port: 2379), name: "m1",
      status: EtcdMemberStatus(
        memberID: 0xabc, clusterID: 1, version: "3.4.23", dbSize: 2 << 20, dbSizeInUse: 1 << 20, leader: 0xabc,
        raftIndex: 42, raftTerm: 7, raftAppliedIndex: 42, revision: 10, errors: [], isLearner: false),
      alarms: [.noSpace], error: nil)
    let down = MemberStatusRow(endpoint: EtcdEndpoint(host: "127.0.0.1", port: 2380), name: nil, error: "connection refused")
    let text = StatusReport.render([row, down])
    let lines = text.split(separator: "\n").map(String.init)
    #expect(lines.count == 3)
    #expect(lines[1].contains("abc") && lines[1].contains("yes") && lines[1].contains("2.0 MB"))
    #expect(lines[1].contains("1.0 MB") && lines[1].contains("NOSPACE") && lines[1].contains(" 7 ") && lines[1].contains("42"))
    #expect(lines[2].contains("unreachable: connection refused"))
    #expect(StatusReport.bytes(512) == "512 B")
  }
}
