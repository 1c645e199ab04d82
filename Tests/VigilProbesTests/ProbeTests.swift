import Foundation
import Testing
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilProbes
import VigilTestKit

@Suite("Probes against real etcd")
struct ProbeTests {
  @Test func kvProbeRoundTripsAndLeavesNothingBehind() async throws {
    try await withTestCluster { cluster, client in
      let probe = EtcdKVProbe(name: "kv", target: "test", client: client)
      for _ in 0..<3 {
        let result = await probe.run(timeout: .seconds(5))
        #expect(result.status == .ok, "\(result.message)")
        #expect(result.steps.map(\.name) == ["lease", "put", "get", "cas", "delete"])
        #expect(result.steps.allSatisfy { $0.succeeded })
      }
      let leftovers = try await client.kv.range("/vigil/probe/", prefix: true)
      #expect(leftovers.count == 0)

      // Per member: a pinned client to a killed member fails as refused.
      let m2 = try await cluster.member("m2")
      let perMember = EtcdKVProbe(name: "kv", target: "test/m2", client: client.member(m2.clientEndpoint))
      #expect(await perMember.run(timeout: .seconds(5)).status == .ok)
      try await cluster.kill("m2")
      // The first run may still be on the dying connection (interrupted); then nothing listens.
      let first = await perMember.run(timeout: .seconds(2))
      #expect(first.status == .critical)
      #expect(first.failure == .refused || first.failure == .interrupted)
      let down = await perMember.run(timeout: .seconds(2))
      #expect(down.status == .critical)
      #expect(down.failure == .refused)
      #expect(down.message.contains("connection refused"))
    }
  }

  @Test func memberProbeReportsRaftAndSizeAndAFrozenMemberTimesOut() async throws {
    try await withTestCluster { cluster, client in
      let m1 = try await cluster.member("m1")
      let probe = EtcdMemberProbe(name: "member", target: "test/m1", member: client.member(m1.clientEndpoint))
      let ok = await probe.run(timeout: .seconds(5))
      #expect(ok.status == .ok, "\(ok.message)")
      #expect((ok.metrics["raft_term"] ?? 0) >= 1)
      #expect((ok.metrics["db_size_bytes"] ?? 0) > 0)
      #expect(ok.metrics["has_leader"] == 1)
      #expect(ok.metrics["alarm_nospace"] == 0)
      try await cluster.freeze("m1")
      let hung = await probe.run(timeout: .milliseconds(300))
      try await cluster.unfreeze("m1")
      #expect(hung.status == .critical)
      #expect(hung.failure == .timeout)
    }
  }

  @Test func httpAndGRPCHealthProbesAgainstEtcdsOwnHealthEndpoints() async throws {
    try await withTestCluster(members: 1) { cluster, client in
      let endpoint = try await cluster.member("m1").clientEndpoint
      let ok = await HTTPProbe(name: "http", target: "t", url: "\(endpoint)/health", bodyContains: "true")
        .run(timeout: .seconds(5))
      #expect(ok.status == .ok, "\(ok.message)")
      #expect(ok.metrics["http_status"] == 200)
      let wrongBody = await HTTPProbe(name: "http", target: "t", url: "\(endpoint)/health", bodyContains: "nope")
        .run(timeout: .seconds(5))
      #expect(wrongBody.status == .critical && wrongBody.message.contains("lacks"))
      let missing = await HTTPProbe(name: "http", target: "t", url: "\(endpoint)/no-such-page").run(timeout: .seconds(5))
      #expect(missing.status == .critical && missing.message.contains("HTTP 404"))

      let health = await GRPCHealthProbe(name: "grpc", target: "t", client: client).run(timeout: .seconds(5))
      #expect(health.status == .ok, "\(health.message)")
      #expect(health.message.contains("SERVING"))

      try await cluster.kill("m1")
      let down = await HTTPProbe(name: "http", target: "t", url: "\(endpoint)/health").run(timeout: .seconds(2))
      #expect(down.failure == .refused)
    }
  }

  @Test func tcpProbeConnectsOrReportsRefused() async throws {
    try await withTestCluster(members: 1) { cluster, _ in
      let m1 = try await cluster.member("m1")
      let up = await TCPProbe(name: "tcp", target: "t", host: "127.0.0.1", port: m1.clientEndpoint.port)
        .run(timeout: .seconds(2))
      #expect(up.status == .ok)
      let port = try FreePort.pick(count: 1)[0]
      let down = await TCPProbe(name: "tcp", target: "t", host: "127.0.0.1", port: port).run(timeout: .seconds(2))
      #expect(down.status == .critical)
      #expect(down.failure == .refused)
    }
  }

  @Test func detectorTurnsRealProbeResultsIntoStates() async throws {
    try await withTestCluster(members: 1) { cluster, client in
      let probe = EtcdKVProbe(name: "kv", target: "t", client: client.withCallTimeout(.seconds(1)))
      var detector = FailureDetector()
      var states: [HealthState] = []
      var lastFailure: ProbeFailureKind?
      func feed(_ result: ProbeResult, confirmation: Bool = false) async {
        lastFailure = result.failure
        for directive in detector.observe(result.observation(confirmation: confirmation)) {
          switch directive {
          case .transition(let t): states.append(t.to)
          case .confirm:
            let again = await probe.run(timeout: .seconds(1))
            lastFailure = again.failure
            for d in detector.observe(again.observation(confirmation: true)) {
              if case .transition(let t) = d { states.append(t.to) }
            }
          }
        }
      }
      // A fresh cluster on a busy machine may need a moment; start from a good result.
      var first = await probe.run(timeout: .seconds(10))
      for _ in 0..<20 where first.status != .ok {
        try await Task.sleep(for: .milliseconds(250))
        first = await probe.run(timeout: .seconds(10))
      }
      #expect(first.status == .ok, "\(first.message)")
      await feed(first)
      #expect(states == [.healthy])
      try await cluster.kill("m1")
      for _ in 0..<3 where detector.state != .failed { await feed(await probe.run(timeout: .seconds(1))) }
      #expect(states == [.healthy, .suspect, .failed])
      #expect(lastFailure == .refused)
      let signals = MemberSignals(name: "m1", health: detector.state, lastFailure: lastFailure)
      #expect(Diagnoser.diagnose(signals)?.fault == .crashed)
    }
  }
}

@Suite("exec probes (Nagios plugin convention)")
struct ExecProbeTests {
  static let plugins = "/usr/lib/nagios/plugins"

  @Test func realCheckTCPPluginAgainstEtcd() async throws {
    let checkTCP = Self.plugins + "/check_tcp"
    try #require(FileManager.default.isExecutableFile(atPath: checkTCP), "install monitoring-plugins-basic")
    try await withTestCluster(members: 1) { cluster, _ in
      let port = try await cluster.member("m1").clientEndpoint.port
      let ok = await ExecProbe(name: "check_tcp", target: "t", command: [checkTCP, "-H", "127.0.0.1", "-p", "\(port)"])
        .run(timeout: .seconds(10))
      #expect(ok.status == .ok, "\(ok.message)")
      #expect(ok.message.hasPrefix("TCP OK"))
      #expect(ok.metrics["time"] != nil)  // performance data: time=0.000123s;…
      let closed = try FreePort.pick(count: 1)[0]
      let down = await ExecProbe(name: "check_tcp", target: "t", command: [checkTCP, "-H", "127.0.0.1", "-p", "\(closed)"])
        .run(timeout: .seconds(10))
      #expect(down.status == .critical)
      #expect(down.failure == .refused)
    }
  }

  @Test func aProbeThatOverrunsItsDeadlineIsKilledAndReportedAsTimedOut() async throws {
    // An argument no other process uses, to find the program afterwards.
    let marker = "31.\(Int.random(in: 100_000...999_999))"
    let result = await ExecProbe(name: "sleepy", target: "t", command: ["/bin/sleep", marker]).run(timeout: .milliseconds(300))
    #expect(result.status == .critical)
    #expect(result.failure == .timeout)
    #expect(result.message.contains("killed"))
    // The program is gone: killed, not waited for.
    let survivors = try await ChildProcess.run("/usr/bin/pgrep", ["-f", "sleep \(marker)"])
    #expect(survivors.stdout.isEmpty, "still running: \(survivors.stdout)")
  }

  @Test(arguments: [
    (0, "OK - fine|a=1", ProbeStatus.ok), (1, "WARNING: hm", .warning), (2, "CRITICAL: down", .critical),
    (3, "UNKNOWN: ?", .unknown), (7, "", .unknown),
  ])
  func exitCodesMapToStates(code: Int32, output: String, status: ProbeStatus) {
    #expect(NagiosOutput(exitCode: code, output: output).status == status)
  }

  @Test func performanceDataIsParsed() {
    let out = NagiosOutput(
      exitCode: 0,
      output: "LOAD OK - total load average: 0.57|load1=0.570;50.000;60.000;0; 'disk used'=81%;90;95 time=12ms;;;\nmore text|extra=3c")
    #expect(out.message == "LOAD OK - total load average: 0.57")
    #expect(out.performance["load1"] == 0.57)
    #expect(out.performance["disk used"] == 81)
    #expect(out.performance["time"] == 0.012)
    #expect(out.performance["extra"] == 3)
  }
}
