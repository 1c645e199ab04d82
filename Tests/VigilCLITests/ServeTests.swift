import Foundation
import Testing
import VigilRuntime
import VigilProbes
import VigilTestKit

/// A `vigil serve` child process.
final class ServeProcess {
  let process = Process()

  init(config: String, output: String, environment: [String: String] = [:]) throws {
    process.executableURL = URL(fileURLWithPath: try #require(vigilExecutablePath()))
    process.arguments = ["serve", "--config", config, "--stop-with-parent"]
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    FileManager.default.createFile(atPath: output, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: output)
    process.standardError = FileHandle.nullDevice
    try process.run()
  }

  func stop(signal: Int32) async throws -> Int32 {
    kill(process.processIdentifier, signal)
    while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
    return process.terminationStatus
  }
}

@Suite("vigil serve", .serialized)
struct ServeTests {
  static let reportScript = """
    #!/bin/bash
    # A probe written for Vigil: it POSTs its result as JSON to VIGIL_REPORT_URL.
    rest="${VIGIL_REPORT_URL#http://}"; hostport="${rest%%/*}"; path="/${rest#*/}"
    body='{"status": "WARNING", "message": "reported as JSON", "metrics": {"answer": 42}}'
    exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
    printf 'POST %s HTTP/1.1\\r\\nHost: %s\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s' \\
      "$path" "$hostport" "${#body}" "$body" >&3
    cat <&3 >/dev/null
    echo "OK - the plain output, which the report replaces"
    """

  /// `dir/vigil.yaml` guarding `cluster` as "c" at 100 ms probes with `probes` (kinds, or YAML flow mappings).
  static func writeConfig(dir: String, port: Int, cluster: LocalCluster, probes: [String]) async throws -> String {
    let config = dir + "/vigil.yaml"
    let list = probes.map { $0.hasPrefix("{") ? "      - \($0)" : "      - kind: \($0)" }.joined(separator: "\n")
    try """
      stateDir: \(dir)/state
      listen: 127.0.0.1:\(port)
      tiers:
        fast: {probeInterval: 100ms, probeTimeout: 1s}
      clusters:
        - name: c
          endpoints: [\(await cluster.endpoints.map(\.description).joined(separator: ", "))]
          tier: fast
          probeSuites: [basics]
      probeSuites:
        - name: basics
          probes:
      \(list)
      """.write(toFile: config, atomically: true, encoding: .utf8)
    return config
  }

  @Test func historySurvivesAKill9AndTheIncidentClosesAfterARestart() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let port = try FreePort.pick(count: 1)[0]
        let script = dir + "/report-probe"
        try Self.reportScript.write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let config = try await Self.writeConfig(
          dir: dir, port: port, cluster: cluster,
          probes: ["etcd.kv", "etcd.member", "{kind: exec, name: report, command: [\(script)], interval: 2s, timeout: 5s}"])

        var serve = try ServeProcess(config: config, output: dir + "/serve1.out")
        #expect(try await eventually { try await VigilRun.run(["status", "--config", config]).status == 0 })

        // On demand: the exec probe's JSON report replaces its plain output.
        let probe = try await VigilRun.run(["probe", "run", "report", "--config", config])
        #expect(probe.status == 0, "\(probe.stderr)")
        #expect(probe.stdout.contains("WARNING") && probe.stdout.contains("reported as JSON"))
        let unknown = try await VigilRun.run(["probe", "run", "nope", "--config", config])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("no probe \"nope\"") && unknown.stderr.contains("etcd.kv"))
        let inspect = try await VigilRun.run(["inspect", "--config", config])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("c: no findings"))

        try await cluster.kill("m2")
        #expect(
          try await eventually {
            let s = try await VigilRun.run(["status", "--config", config])
            return s.status == 2 && s.stdout.contains("crashed") && s.stdout.contains("c/m2")
          })
        #expect(try await serve.stop(signal: SIGKILL) == SIGKILL)

        serve = try ServeProcess(config: config, output: dir + "/serve2.out")
        let url = "http://127.0.0.1:\(port)"
        #expect(try await eventually { (try? await HTTPExchange.send(.GET, url: url + "/status"))?.status == 200 })
        let open = try await HTTPExchange.send(.GET, url: url + "/v1/incidents?open=true")
        #expect(open.body.contains("\"subject\" : \"c/m2\"") && open.body.contains("\"fault\" : \"crashed\""), "\(open.body)")

        try await cluster.start("m2")
        #expect(
          try await eventually {
            let body = try await HTTPExchange.send(.GET, url: url + "/v1/incidents?open=true").body
            return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [Any])?.isEmpty == true
          })
        let all = try await HTTPExchange.send(.GET, url: url + "/v1/incidents")
        #expect(all.body.contains("closedAt"))
        let metrics = try await HTTPExchange.send(.GET, url: url + "/metrics").body
        #expect(metrics.contains("vigil_probe_duration_seconds_bucket{cluster=\"c\""))
        #expect(metrics.contains("vigil_probe_lag_seconds_bucket{"))
        // m2 back healthy (on a loaded machine a probe may time out once more first).
        #expect(
          try await eventually {
            try await HTTPExchange.send(.GET, url: url + "/metrics").body
              .contains("vigil_health_state{cluster=\"c\",subject=\"c/m2\",state=\"healthy\"} 1")
          })
        // Backups run by default: the restarted Vigil reads what it stored, and its change log keeps up.
        #expect(
          try await eventually {
            let body = try await HTTPExchange.send(.GET, url: url + "/metrics").body
            return body.contains("vigil_backup_last_verified_timestamp_seconds{cluster=\"c\"}")
              && body.contains("vigil_backup_bytes{cluster=\"c\"}") && body.contains("vigil_changelog_lag_seconds{cluster=\"c\"}")
          })
        let bad = try await HTTPExchange.send(.GET, url: url + "/v1/incidents?limit=zero")
        #expect(bad.status == 400 && bad.body.contains("limit"))
        // --output json: the API's own JSON.
        let listed = try await VigilRun.run(["incidents", "--config", config, "--output", "json"])
        let incidents = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]
        #expect(incidents?.contains { $0["subject"] as? String == "c/m2" } == true, "\(listed.stdout)")
        // A token made while it runs puts tokens in force at once: the CLI needs one from then on.
        let made = try await VigilRun.run(["token", "create", "--config", config, "--role", "viewer", "--name", "ci-bot"])
        #expect(made.status == 0, "\(made.stderr)")
        let token = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("vigil_") && token.count == 70 && made.stderr.contains("not shown again"))
        let refused = try await VigilRun.run(["status", "--config", config])
        #expect(refused.status == 77 && refused.stderr.contains("--token"), "\(refused.stderr)")
        let status = try await VigilRun.run(["status", "--config", config, "--token", token, "--output", "json"])
        // Accepted: 0 (all healthy) or 2 (a probe timed out under load and a member is suspect), never 77.
        #expect(status.status == 0 || status.status == 2, "\(status.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["clusters"] != nil)
        let gate = try await VigilRun.run(["gate", "--cluster", "c", "--config", config, "--token", token, "--output", "json"])
        #expect(gate.status == 0 || gate.status == 1, "\(gate.stderr)")
        #expect(gate.stdout.contains("\"decision\""))
        let tokens = try await VigilRun.run(["token", "list", "--config", config, "--output", "json"])
        #expect(tokens.stdout.contains("\"ci-bot\"") && !tokens.stdout.contains(token))
        #expect(try await serve.stop(signal: SIGTERM) == 0)
      }
    }
  }

  @Test func underSystemdItSaysReadyThenKeepsTheWatchdogFedAndSaysStopping() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let port = try FreePort.pick(count: 1)[0]
        let config = try await Self.writeConfig(dir: dir, port: port, cluster: cluster, probes: ["etcd.kv"])
        let notify = try NotifySocket(path: dir + "/notify")
        defer { notify.close() }
        // WatchdogSec=2s: systemd expects WATCHDOG=1 at least every 2 s; Vigil sends one every second.
        let serve = try ServeProcess(
          config: config, output: dir + "/serve.out",
          environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"])
        // Start-up on a loaded machine (the test batch runs in parallel) can take a while: a generous net.
        #expect(try await eventually(timeout: .seconds(90)) { notify.messages(containing: "READY=1").count == 1 })
        let readyAt = try #require(notify.messages(containing: "READY=1").first).at
        #expect(try await eventually { notify.messages(containing: "WATCHDOG=1").count >= 4 })
        let pings = notify.messages(containing: "WATCHDOG=1").map(\.at)
        #expect(pings.allSatisfy { $0 >= readyAt }, "keep-alives only after READY=1")
        let health = try await HTTPExchange.send(.GET, url: "http://127.0.0.1:\(port)/healthz")
        #expect(health.status == 200 && health.body.contains("\"status\" : \"ok\""), "\(health.body)")
        #expect(try await serve.stop(signal: SIGTERM) == 0)
        #expect(try await eventually { notify.messages(containing: "STOPPING=1").count == 1 })
        // The pace: about one a second (half of WATCHDOG_USEC), counted over the whole run.
        let span = try #require(pings.last) - readyAt
        #expect(Double(pings.count) <= span + 2, "\(pings.count) keep-alives in \(span) s")
      }
    }
  }

  @Test func aMalformedNotifySocketIsNamed() async throws {
    try await withTemporaryDirectory { dir in
      let config = dir + "/vigil.yaml"
      try """
        stateDir: \(dir)/state
        clusters:
          - name: c
            endpoints: [http://127.0.0.1:1]
        """.write(toFile: config, atomically: true, encoding: .utf8)
      let run = try await VigilRun.run(["serve", "--config", config], environment: ["NOTIFY_SOCKET": "notify.sock"])
      #expect(run.status == 1)
      #expect(run.stderr.contains("NOTIFY_SOCKET") && run.stderr.contains("\"notify.sock\""), "\(run.stderr)")
    }
  }

  @Test func serveRefusesAnInvalidFileAndNamesEveryProblem() async throws {
    try await withTemporaryDirectory { dir in
      let config = dir + "/bad.yaml"
      try """
        listen: nowhere
        clusters:
          - name: a
            endpoints: [htp://x:1]
            tier: P9
        """.write(toFile: config, atomically: true, encoding: .utf8)
      let run = try await VigilRun.run(["serve", "--config", config])
      #expect(run.status == 1)
      #expect(run.stderr.contains("listen:"))
      #expect(run.stderr.contains("clusters[0].endpoints[0]"))
      #expect(run.stderr.contains("clusters[0].tier"))
      #expect(run.stderr.contains("not starting"))
    }
  }
}
