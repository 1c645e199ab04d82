import Foundation
import Testing
import VigilCore
import VigilEtcd
import VigilProbes
import VigilRuntime
import VigilStore
import VigilTestKit

/// Members run by scripts (the `exec` runtime driver), not by Vigil: they
/// outlive a `kill -9` of `vigil serve`, as systemd units would.
struct ScriptedCluster {
  let root: String
  let script: String
  var members: [(name: String, client: Int, peer: Int)] = []

  /// The driver: start/stop/kill/wipe/provision/restore one member, told which by Vigil's environment.
  /// A new member's start waits while `hold-new` exists (so a test can stop Vigil mid-plan).
  static let driver = """
    #!/bin/bash
    set -u
    root="$(cd "$(dirname "$0")" && pwd)"
    name="$VIGIL_MEMBER_NAME"
    home="$root/$name"
    pidfile="$home/etcd.pid"
    mkdir -p "$home"
    exec 9>"$home/lock"; flock 9  # one action per member at a time (etcd must not inherit fd 9)
    running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
    case "$1" in
      start)
        running && exit 0
        if [ -n "${VIGIL_INITIAL_CLUSTER:-}" ]; then
          while [ -f "$root/hold-new" ]; do sleep 0.05; done
        fi
        setsid etcd --name "$name" --data-dir "$VIGIL_MEMBER_DATA_DIR" \\
          --listen-client-urls "$VIGIL_MEMBER_CLIENT_URL" --advertise-client-urls "$VIGIL_MEMBER_CLIENT_URL" \\
          --listen-peer-urls "$VIGIL_MEMBER_PEER_URL" --initial-advertise-peer-urls "$VIGIL_MEMBER_PEER_URL" \\
          --initial-cluster "${VIGIL_INITIAL_CLUSTER:-$name=$VIGIL_MEMBER_PEER_URL}" \\
          --initial-cluster-state "${VIGIL_INITIAL_CLUSTER_STATE:-existing}" --initial-cluster-token scripted \\
          >>"$home/etcd.log" 2>&1 </dev/null 9>&- &
        echo $! >"$pidfile"
        ;;
      stop|kill)
        if running; then
          pid="$(cat "$pidfile")"
          kill "$([ "$1" = kill ] && echo -9 || echo -TERM)" "$pid"
          while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
        fi
        rm -f "$pidfile"
        ;;
      wipe) rm -rf "$VIGIL_MEMBER_DATA_DIR" ;;
      restore)
        if running; then echo "$name still runs" >&2; exit 1; fi
        [ -d "$VIGIL_MEMBER_DATA_DIR" ] && mv "$VIGIL_MEMBER_DATA_DIR" "$VIGIL_MEMBER_DATA_DIR.retired-$(date +%s%N)"
        ETCDCTL_API=3 etcdctl snapshot restore "$VIGIL_SNAPSHOT_FILE" --name "$name" --data-dir "$VIGIL_MEMBER_DATA_DIR" \
          --initial-cluster "$VIGIL_INITIAL_CLUSTER" --initial-cluster-token "$VIGIL_INITIAL_CLUSTER_TOKEN" \
          --initial-advertise-peer-urls "$VIGIL_MEMBER_PEER_URL" >>"$home/restore.log" 2>&1 9>&-
        ;;
      logs) [ -f "$home/etcd.log" ] && tail -n 400 "$home/etcd.log" ;;
      arguments) running && tr '\\0' '\\n' <"/proc/$(cat "$pidfile")/cmdline" ;;
      provision)
        ports="$(head -n 1 "$root/ports")"; sed -i 1d "$root/ports"
        echo "VIGIL_MEMBER_CLIENT_URL=http://127.0.0.1:${ports% *}"
        echo "VIGIL_MEMBER_PEER_URL=http://127.0.0.1:${ports#* }"
        echo "VIGIL_MEMBER_DATA_DIR=$home/data"
        ;;
      *) echo "unknown action $1" >&2; exit 2 ;;
    esac
    """

  init(root: String) throws {
    self.root = root
    script = root + "/member.sh"
    try Self.driver.write(toFile: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
    let spare = try FreePort.pick(count: 8)
    try stride(from: 0, to: spare.count, by: 2).map { "\(spare[$0]) \(spare[$0 + 1])" }.joined(separator: "\n")
      .appending("\n").write(toFile: root + "/ports", atomically: true, encoding: .utf8)
    let ports = try FreePort.pick(count: 6)
    members = (0..<3).map { ("m\($0 + 1)", ports[2 * $0], ports[2 * $0 + 1]) }
  }

  var endpoints: [String] { members.map { "http://127.0.0.1:\($0.client)" } }

  func run(_ action: String, _ name: String, initial: String? = nil) async throws {
    let m = try #require(members.first { $0.name == name })
    var env = ProcessInfo.processInfo.environment
    env["VIGIL_MEMBER_NAME"] = name
    env["VIGIL_MEMBER_CLIENT_URL"] = "http://127.0.0.1:\(m.client)"
    env["VIGIL_MEMBER_PEER_URL"] = "http://127.0.0.1:\(m.peer)"
    env["VIGIL_MEMBER_DATA_DIR"] = "\(root)/\(name)/data"
    if let initial {
      env["VIGIL_INITIAL_CLUSTER"] = initial
      env["VIGIL_INITIAL_CLUSTER_STATE"] = "new"
    }
    let result = try await ChildProcess.run(script, [action], environment: env, timeout: .seconds(30))
    #expect(result.status == 0, "\(action) \(name): \(result.stderr)")
  }

  func start() async throws {
    let initial = members.map { "\($0.name)=http://127.0.0.1:\($0.peer)" }.joined(separator: ",")
    for m in members { try await run("start", m.name, initial: initial) }
  }

  /// Runs `body` with a scripted cluster started in `root` and a client of it; the client is shut down and every
  /// member the scripts started is killed afterwards, also when `body` throws.
  static func with<T: Sendable>(root: String, _ body: (ScriptedCluster, EtcdClient) async throws -> T) async throws -> T {
    let scripted = try ScriptedCluster(root: root)
    defer { scripted.killAll() }
    try await scripted.start()
    let client = try await scripted.client()
    do {
      let result = try await body(scripted, client)
      await client.shutdown()
      return result
    } catch {
      await client.shutdown()
      throw error
    }
  }

  /// The plan as it finished (nil: not within `timeout`).
  static func finished(_ id: Int64, in store: HistoryStore, timeout: Duration) async throws -> RepairPlan? {
    var finished: RepairPlan?
    _ = try await eventually(timeout: timeout) {
      finished = try await store.plan(id: id)
      return finished?.state.isFinished == true
    }
    return finished?.state.isFinished == true ? finished : nil
  }

  /// A client of the whole cluster, once it has a leader.
  func client() async throws -> EtcdClient {
    var config = EtcdClientConfiguration(endpoints: try endpoints.map { try EtcdEndpoint(parsing: $0) })
    config.callTimeout = .seconds(5)
    let client = try EtcdClient(configuration: config)
    #expect(try await eventually { (try? await client.maintenance.status().leader ?? 0) ?? 0 != 0 })
    return client
  }

  /// `name`'s data is lost (killed -9, its data dir deleted), with new members held at their start (`hold-new`)
  /// until ``releaseNewMembers()``; returns, once Vigil's replace-member plan in `store` is starting the new
  /// member, that plan.
  func loseMemberAndWaitForItsReplacementToStart(_ name: String, store: HistoryStore) async throws -> RepairPlan {
    FileManager.default.createFile(atPath: root + "/hold-new", contents: nil)
    let crash = try await ChildProcess.run(
      "/bin/sh", ["-c", "kill -9 $(cat '\(root)/\(name)/etcd.pid') && rm -rf '\(root)/\(name)/data' '\(root)/\(name)/etcd.pid'"])
    #expect(crash.status == 0, "\(crash.stderr)")
    var inFlight: RepairPlan?
    #expect(
      try await eventually(timeout: .seconds(60)) {
        inFlight = try await store.plans(cluster: "x").first {
          $0.runbook == .replaceMember && $0.steps.contains { $0.action == .startNew && $0.state == .running }
        }
        return inFlight != nil
      })
    return try #require(inFlight)
  }

  func releaseNewMembers() throws { try FileManager.default.removeItem(atPath: root + "/hold-new") }

  /// A Vigil configuration guarding the scripted cluster as `x` through the exec driver (written beside it).
  /// `restores`: the driver restores members from a snapshot too (quorum lost for good).
  func vigilConfig(
    stateDir: String, port: Int, name: String = "vigil", repair: String = "{memberTimeout: 60s}", restores: Bool = false,
    foresight: Bool = false, clusterKeys: [String] = [], extra: String = ""
  ) throws -> String {
    let path = root + "/\(name).yaml"
    try """
      stateDir: \(stateDir)
      listen: 127.0.0.1:\(port)
      tiers:
        fast: {probeInterval: 100ms, probeTimeout: 1s}
      scheduler: {membershipInterval: 500ms}
      repair: \(repair)
      clusters:
        - name: x
          endpoints: [\(endpoints.joined(separator: ", "))]
          tier: fast
          probeSuites: [s]
          \(clusterKeys.joined(separator: "\n    "))
          runtime:
            kind: exec
            start: [\(script), start]
            stop: [\(script), stop]
            kill: [\(script), kill]
            wipe: [\(script), wipe]
            provision: [\(script), provision]
            \(restores ? "restore: [\(script), restore]" : "")
            \(foresight ? "logs: [\(script), logs]\n      arguments: [\(script), arguments]" : "")
            dataDir: \(root)/{name}/data
      probeSuites:
        - name: s
          probes:
            - kind: etcd.kv
            - kind: etcd.member
      \(extra)
      """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// Kills every etcd the scripts started (orphans included).
  func killAll() {
    let dirs = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    for d in dirs {
      if let text = try? String(contentsOfFile: "\(root)/\(d)/etcd.pid", encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
        kill(pid, SIGKILL)
      }
    }
  }
}

@Suite("exec runtime: member logs and command lines", .serialized)
struct MemberLogExecTests {
  /// Through the exec driver's `logs` and `arguments` commands: a member frozen past etcd's stream timeout is
  /// diagnosed with its peers' log lines in its incident timeline, and members running etcd's default
  /// `--snapshot-count` under a spec declaring another are drift.
  @Test func theExecDriversLogsAndCommandLinesReachTheDiagnosisAndTheDriftInspection() async throws {
    try await withTemporaryDirectory { root in
      try await ScriptedCluster.with(root: root) { scripted, _ in
        let port = try FreePort.pick(count: 1)[0]
        let config = try scripted.vigilConfig(
          stateDir: root + "/state", port: port, repair: "{mode: paused}", foresight: true,
          clusterKeys: [#"spec: {version: "3.4", flags: {snapshot-count: 5000}}"#],
          extra: "inspections: {interval: 1s}")
        let check = try await VigilRun.run(["config", "check", config])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let serve = try ServeProcess(config: config, output: root + "/serve.out")
        defer { if serve.process.isRunning { kill(serve.process.processIdentifier, SIGKILL) } }
        #expect(try await eventually { try await VigilRun.run(["status", "--config", config]).status == 0 })
        let store = try HistoryStore(directory: root + "/state")

        let drift = try await eventually {
          try await store.latestFindings(cluster: "x").filter { $0.check == "drift" }.count == 3
        }
        #expect(drift)
        let m2Drift = try #require(try await store.latestFindings(cluster: "x").first { $0.check == "drift" && $0.member == "m2" })
        #expect(m2Drift.evidence == ["- --snapshot-count: 5000 (declared)", "+ --snapshot-count: 100000 (default) (m2)"])

        let pid = try String(contentsOfFile: root + "/m3/etcd.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(kill(try #require(Int32(pid)), SIGSTOP) == 0)
        let quoted = try await eventually(timeout: .seconds(40)) {
          try await store.incidents(cluster: "x").contains { i in
            i.subject == "x/m3" && i.timeline.contains { $0.kind == "diagnosis" && $0.text.contains("\nlog: ") }
          }
        }
        #expect(kill(try #require(Int32(pid)), SIGCONT) == 0)
        #expect(quoted, "no incident of m3 quotes its peers' logs")
        #expect(try await serve.stop(signal: SIGTERM) == 0)
      }
    }
  }
}

@Suite("exec runtime driver and resuming after kill -9", .serialized)
struct ExecRuntimeTests {
  @Test func vigilKilledDuringReplaceMemberResumesAndFinishesWithThreeVoters() async throws {
    try await withTemporaryDirectory { root in
      try await ScriptedCluster.with(root: root) { scripted, client in
        for i in 0..<200 { try await client.kv.put("/keep/\(i)", "v\(i)") }

        let port = try FreePort.pick(count: 1)[0]
        let config = try scripted.vigilConfig(stateDir: root + "/state", port: port)
        let check = try await VigilRun.run(["config", "check", config])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        var serve = try ServeProcess(config: config, output: root + "/serve1.out")
        defer { if serve.process.isRunning { kill(serve.process.processIdentifier, SIGKILL) } }
        #expect(try await eventually { try await VigilRun.run(["status", "--config", config]).status == 0 })
        let old = try #require(try await client.cluster.list().first { $0.name == "m2" })

        // The member's data is lost: Vigil plans replace-member and gets as far as starting the new member (held
        // by the gate): kill -9 it there.
        let store = try HistoryStore(directory: root + "/state")
        let plan = try await scripted.loseMemberAndWaitForItsReplacementToStart("m2", store: store)
        #expect(plan.steps.first { $0.action == .remove }?.state == .done)
        #expect(plan.steps.first { $0.action == .promote }?.state == .pending)
        #expect(try await serve.stop(signal: SIGKILL) == 9)
        #expect(!(try await client.cluster.list().contains { $0.id == old.id }))  // removed before the kill

        // Started again, Vigil reads its journal and finishes the plan without repeating the removal.
        try scripted.releaseNewMembers()
        serve = try ServeProcess(config: config, output: root + "/serve2.out")
        let finished = try await ScriptedCluster.finished(plan.id, in: store, timeout: .seconds(60))
        #expect(finished?.state == .succeeded, "\(finished?.outcome ?? "") \(finished?.steps.map { "\($0.label): \($0.detail ?? "")" } ?? [])")
        let audit = try await store.audit(planID: plan.id, limit: 1000, ascending: true)
        #expect(audit.contains { $0.action == "resumed-plan" })
        #expect(audit.filter { $0.step == "remove-member m2" && $0.action == "step" }.count == 1)
        #expect(audit.filter { $0.step == "add-learner" && $0.action == "step" }.count == 1)

        let list = try await client.cluster.list()
        #expect(list.count == 3 && !list.contains(where: \.isLearner))
        let newName = try #require(finished?.context["new.name"])
        let new = try #require(list.first { $0.name == newName })
        #expect(new.id != old.id)
        let pinned = client.member(try EtcdEndpoint(parsing: try #require(new.clientURLs.first)))
        #expect(try await pinned.kv.range("/keep/", prefix: true, consistency: .serializable, countOnly: true).count == 200)
        await pinned.shutdown()

        // The CLI shows it: the plan, the audit log (intact), the incident with its MTTR.
        let repairs = try await VigilRun.run(["repair", "list", "--config", config])
        #expect(repairs.stdout.contains("replace-member") && repairs.stdout.contains("succeeded"), "\(repairs.stdout)\(repairs.stderr)")
        let verify = try await VigilRun.run(["audit", "verify", "--state-dir", root + "/state"])
        #expect(verify.status == 0 && verify.stdout.contains("intact"), "\(verify.stdout)\(verify.stderr)")
        let incidents = try await VigilRun.run(["incidents", "--config", config, "--id", "\(try #require(plan.incidentID))"])
        #expect(incidents.stdout.contains("data loss") && incidents.stdout.contains("repair"), "\(incidents.stdout)\(incidents.stderr)")
        #expect(!incidents.stdout.contains("MTTR -"))
        let bad = try await VigilRun.run(["repair", "run", "replace-member", "--cluster", "x", "--config", config])
        #expect(bad.status == 64 && bad.stderr.contains("needs --member"), "\(bad.stderr)")
        #expect(try await serve.stop(signal: SIGTERM) == 0)
      }
    }
  }

  @Test func aQuorumLostForGoodIsRestoredThroughTheExecDriverAndTheCLIReadsTheBackups() async throws {
    try await withTemporaryDirectory { root in
      try await ScriptedCluster.with(root: root) { scripted, client in
        for i in 0..<100 { try await client.kv.put("/keep/\(i)", "v\(i)") }

        let port = try FreePort.pick(count: 1)[0]
        let config = try scripted.vigilConfig(
          stateDir: root + "/state", port: port, repair: "{memberTimeout: 60s, restoreMode: auto}", restores: true,
          extra: "backup: {flushInterval: 100ms}")
        var serve = try ServeProcess(config: config, output: root + "/serve.out")
        defer { if serve.process.isRunning { kill(serve.process.processIdentifier, SIGKILL) } }
        // A verified backup, seen through the CLI straight from the store.
        var listed = ""
        #expect(
          try await eventually(timeout: .seconds(60)) {
            listed = try await VigilRun.run(["backup", "list", "--config", config]).stdout
            return listed.contains("yes")
          }, "\(listed)")
        let last = try await client.kv.put("/keep/last", "end").revision
        try await Task.sleep(for: .seconds(1))  // the change log's flush interval, ten times over

        let store = try HistoryStore(directory: root + "/state")
        let crash = try await ChildProcess.run(
          "/bin/sh",
          [
            "-c",
            "kill -9 $(cat '\(root)'/m1/etcd.pid) $(cat '\(root)'/m2/etcd.pid); for m in m1 m2; do rm -rf '\(root)'/$m/data '\(root)'/$m/etcd.pid; done",
          ])
        #expect(crash.status == 0, "\(crash.stderr)")
        var done: RepairPlan?
        #expect(
          try await eventually(timeout: .seconds(90)) {
            done = try await store.plans(cluster: "x").first { $0.runbook == .restoreCluster && $0.state == .succeeded }
            return done != nil
          })
        let seen = (try? await store.plans(cluster: "x").map { "\($0.runbook) \($0.state) \($0.outcome ?? "")" }) ?? []
        let plan = try #require(done, "\(seen)")
        #expect(plan.context["restore.lostRevisions"] == "0")
        let kept = try await client.kv.range("/keep/", prefix: true)
        #expect(kept.count == 101)
        #expect(kept.revision > last + 1000)
        // The old data dirs were retired by the driver, never reused.
        let retired = try FileManager.default.contentsOfDirectory(atPath: root + "/m3").filter { $0.hasPrefix("data.retired-") }
        #expect(retired.count == 1)

        let verify = try await VigilRun.run(["backup", "verify", "--config", config])
        #expect(verify.status == 0 && verify.stdout.hasPrefix("verified:"), "\(verify.stdout)\(verify.stderr)")
        let output = root + "/restored.db"
        let restore = try await VigilRun.run(["backup", "restore", "--config", config, "--output", output])
        #expect(restore.status == 0 && restore.stdout.contains("etcdctl snapshot restore"), "\(restore.stdout)\(restore.stderr)")
        let up = try await VigilRun.run(["cluster", "up", "--from-snapshot", output, "--members", "1", "--refresh", "0", "--duration", "1"])
        #expect(up.status == 0 && up.stdout.contains("is up"), "\(up.stdout)\(up.stderr)")
        let badTime = try await VigilRun.run(["backup", "restore", "--config", config, "--time", "soon", "--output", root + "/x.db"])
        #expect(badTime.status == 64 && badTime.stderr.contains("--time"), "\(badTime.stderr)")
        #expect(try await serve.stop(signal: SIGTERM) == 0)
      }
    }
  }
}
