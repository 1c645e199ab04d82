import Foundation
import Testing
import VigilRuntime
import VigilTestKit

/// The whole path a person and a client see: `vigil serve` guarding a primary (three members) and its
/// standby (one), `vigil proxy` in front, etcdctl through the proxy before and after `vigil failover` and
/// `vigil failback`, the endpoints file following.
@Suite("failover through the CLI", .serialized)
struct StandbyFailoverCLITests {
  @Test func etcdctlWorksThroughTheProxyBeforeAndAfterAFailover() async throws {
    try await withTemporaryDirectory { dir in
      let ports = try FreePort.pick(count: 2)
      let url = "http://127.0.0.1:\(ports[0])"
      let config = dir + "/vigil.yaml"
      try """
        stateDir: \(dir)/state
        listen: 127.0.0.1:\(ports[0])
        backup: {enabled: false}
        standby: {heartbeatInterval: 200ms, revisionMargin: 100}
        tiers:
          fast: {probeInterval: 100ms, probeTimeout: 1s}
        scheduler: {membershipInterval: 500ms}
        probeSuites:
          - name: s
            probes: [{kind: etcd.kv}, {kind: etcd.member}]
        clusters:
          - {name: a, runtime: {kind: local, members: 3}, tier: fast, probeSuites: [s], standby: b}
          - {name: b, runtime: {kind: local, members: 1}, tier: fast, probeSuites: [s]}
        """.write(toFile: config, atomically: true, encoding: .utf8)
      var serve = try ServeProcess(config: config, output: dir + "/serve.out")
      defer { if serve.process.isRunning { kill(serve.process.processIdentifier, SIGKILL) } }
      #expect(try await eventually(timeout: .seconds(60)) { try await VigilRun.run(["status", "--config", config]).status == 0 })

      let proxy = Process()
      proxy.executableURL = URL(fileURLWithPath: try #require(vigilExecutablePath()))
      proxy.arguments = ["proxy", "--cluster", "a", "--listen", "127.0.0.1:\(ports[1])", "--server", url, "--refresh", "200ms"]
      proxy.standardOutput = FileHandle.nullDevice
      proxy.standardError = FileHandle.nullDevice
      try proxy.run()
      defer { if proxy.isRunning { kill(proxy.processIdentifier, SIGKILL) } }

      // Before: etcdctl through the proxy writes to a.
      var said = ""
      #expect(
        try await eventually(timeout: .seconds(60)) {
          let put = try await etcdctl(port: ports[1], "put", "/before", "on-a")
          said = put.stderr
          return put.status == 0
        }, "\(said)")
      // The mirror has it on b before anyone fails over.
      #expect(
        try await eventually(timeout: .seconds(60)) {
          let status = try await VigilRun.run(["status", "--config", config])
          return status.stdout.contains("standby b") && status.stdout.contains("mirroring")
        })
      try await Task.sleep(for: .seconds(1))

      let failover = try await VigilRun.run(["failover", "--cluster", "a", "--server", url, "--operator", "alice"])
      #expect(failover.status == 0, "\(failover.stdout)\(failover.stderr)")
      #expect(failover.stdout.contains("a is served by b now"), "\(failover.stdout)")
      // A second failover is refused: a is already served by b.
      let again = try await VigilRun.run(["failover", "--cluster", "a", "--server", url, "--operator", "alice"])
      #expect(again.status == 64 && again.stderr.contains("vigil failback"), "\(again.stderr)")

      // After: the same etcdctl command line reads a's write from b and writes there.
      #expect(
        try await eventually(timeout: .seconds(30)) {
          let get = try await etcdctl(port: ports[1], "get", "/before", "--print-value-only")
          return get.status == 0 && get.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "on-a"
        })
      let put = try await etcdctl(port: ports[1], "put", "/after", "on-b")
      #expect(put.status == 0, "\(put.stderr)")
      var file = ""
      #expect(
        try await eventually {
          file = (try? String(contentsOfFile: dir + "/state/endpoints.json", encoding: .utf8)) ?? ""
          return file.contains("\"active\" : \"b\"")
        }, "\(file)")

      // Failback once a is back as b's standby (rebuilt by the mirror): the write made on b is on a.
      #expect(
        try await eventually(timeout: .seconds(90)) {
          let status = try await VigilRun.run(["status", "--config", config])
          return status.stdout.contains("standby a") && status.stdout.contains("mirroring")
        })
      try await Task.sleep(for: .seconds(1))
      // Refused (409) while Vigil still finishes a plan of its own on the pair: a person tries again.
      var back = try await VigilRun.run(["failback", "--cluster", "a", "--server", url, "--operator", "alice"])
      #expect(
        try await eventually(timeout: .seconds(60), interval: .seconds(1)) {
          if back.status != 0, back.stderr.contains("already running") {
            back = try await VigilRun.run(["failback", "--cluster", "a", "--server", url, "--operator", "alice"])
          }
          return back.status == 0
        }, "\(back.stdout)\(back.stderr)")
      #expect(
        try await eventually(timeout: .seconds(30)) {
          let get = try await etcdctl(port: ports[1], "get", "/after", "--print-value-only")
          return get.status == 0 && get.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "on-b"
        })
      kill(proxy.processIdentifier, SIGTERM)
      #expect(try await serve.stop(signal: SIGTERM) == 0)
    }
  }
}
