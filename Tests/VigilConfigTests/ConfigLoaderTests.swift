import Testing
import VigilConfig
import VigilCore

@Suite("Configuration")
struct ConfigLoaderTests {
  func load(_ yaml: String, files: Set<String> = []) throws(ConfigError) -> VigilConfiguration {
    try ConfigLoader.parse(yaml, fileExists: { files.contains($0) })
  }

  func problems(_ yaml: String, files: Set<String> = []) -> [ConfigProblem] {
    do {
      _ = try load(yaml, files: files)
      return []
    } catch {
      return error.problems
    }
  }

  @Test func aTenLineFileWorksWithDefaults() throws {
    let config = try load(
      """
      clusters:
        - name: prod-a
          endpoints: [http://10.0.0.1:2379, http://10.0.0.2:2379, http://10.0.0.3:2379]
          tier: P0
          probeSuites: [basics]
      probeSuites:
        - name: basics
          probes:
            - kind: etcd.kv
            - kind: etcd.member
      """)
    #expect(config.clusters.count == 1)
    #expect(config.clusters[0].endpoints.count == 3)
    #expect(config.stateDir == "./vigil-state")
    #expect(config.tiers["P0"]?.probeInterval == .milliseconds(200))
    #expect(config.detector.failuresToFail == 2)
    #expect(config.probes(for: config.clusters[0]).map(\.kind) == [.etcdKV, .etcdMember])
    #expect(config.probes(for: config.clusters[0]).map(\.name) == ["etcd.kv", "etcd.member"])
  }

  @Test func everyProblemIsReportedWithItsPath() {
    let found = problems(
      """
      listen: nowhere
      detector:
        failuresToFail: 0
        latencyFloor: soon
      probeSuites:
        - name: s
          probes:
            - kind: http
              url: ftp://x
            - kind: tcp
            - kind: frobnicate
            - kind: exec
              command: [/no/such/plugin]
              timeout: 5s
              interval: 1s
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379, "htp://bad:1"]
          tier: P9
          group: nope
          probeSuites: [s, missing]
        - name: a
          endpiont: [x]
          tls: {ca: /no/ca.pem}
      """)
    let byPath = Dictionary(grouping: found, by: \.path)
    let expected = [
      "listen", "detector.failuresToFail", "detector.latencyFloor", "probeSuites[0].probes[0].url",
      "probeSuites[0].probes[1].address", "probeSuites[0].probes[2].kind", "probeSuites[0].probes[3].command[0]",
      "clusters[0].endpoints[1]", "clusters[0].tier", "clusters[0].group",
      "clusters[0].probeSuites", "clusters[1].endpiont", "clusters[1].endpoints", "clusters[1].tls.ca",
      "clusters[1].name",
    ]
    for path in expected { #expect(byPath[path] != nil, "no problem reported at \(path); got \(found)") }
    #expect(byPath["clusters[0].endpoints[1]"]?.first?.message.contains("htp://bad:1") == true)
    #expect(byPath["clusters[1].endpiont"]?.first?.message.contains("did you mean endpoints?") == true)
    #expect(byPath["probeSuites[0].probes[2].kind"]?.first?.message.contains("frobnicate") == true)
    #expect(byPath["clusters[0].tier"]?.first?.message.contains("P9") == true)
    #expect(found.allSatisfy { $0.line != nil })
  }

  @Test func aBadClusterNameDoesNotHideItsOtherProblemsOrShiftTheirPlace() {
    let found = problems(
      """
      clusters:
        - {name: "", endpoints: ["htp:/x", 42], tier: P9}
        - name: b
          endpoints: [http://127.0.0.1:2379]
          tier: P8
      """)
    let at = Dictionary(found.map { ($0.path, $0.line) }, uniquingKeysWith: { a, _ in a })
    #expect(at["clusters[0].name"] == 2)
    #expect(at["clusters[0].endpoints[0]"] == 2)
    #expect(at["clusters[0].endpoints[1]"] == 2)
    #expect(at["clusters[0].tier"] == 2)
    #expect(at["clusters[1].tier"] == 5, "\(found)")
    #expect(found.count == 5, "\(found)")
  }

  @Test func aDuplicateEndpointIsAProblemAtItsOwnPath() {
    let found = problems(
      """
      clusters:
        - name: a
          endpoints:
            - http://127.0.0.1:2379
            - http://127.0.0.1:2380
            - http://127.0.0.1:2379
      """)
    #expect(found.count == 1)
    #expect(found.first?.path == "clusters[0].endpoints[2]")
    #expect(found.first?.line == 6)
    #expect(found.first?.message.contains("duplicate of endpoints[0]") == true)
  }

  @Test func theWatchdogSectionHasDefaultsAndNamesBadValues() throws {
    let base = """
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]

      """
    let defaults = try load(base)
    #expect(defaults.watchdog.stallPeriods == 5)
    #expect(defaults.watchdog.minimumStall == .seconds(5))
    #expect(defaults.watchdog.stallAfter == .seconds(60))
    let tuned = try load(base + "watchdog: {stallPeriods: 3, minimumStall: 2s, stallAfter: off}")
    #expect(tuned.watchdog.stallPeriods == 3)
    #expect(tuned.watchdog.settings.minimumStall == .seconds(2))
    #expect(tuned.watchdog.settings.exitAfter == nil)
    let found = problems(base + "watchdog: {stallPeriods: 1, minimumStall: soon, stallAfter: never, stalls: 2}")
    let paths = found.map(\.path)
    #expect(paths.contains("watchdog.stallPeriods"))
    #expect(paths.contains("watchdog.minimumStall"))
    #expect(paths.contains { $0.hasPrefix("watchdog") && $0.contains("stalls") } || found.contains { $0.message.contains("stalls") })
    let after = try #require(found.first { $0.path == "watchdog.stallAfter" })
    #expect(after.message.contains("\"never\"") && after.message.contains("off"))
  }

  @Test func memberLogSourcesAreReadAndCheckedByField() throws {
    let c = try load(
      """
      inspections: {logInterval: 1s, logWindow: 5m, logSlowDiskOccurrences: 2}
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]
          logs: {file: "/var/log/etcd/{name}.log"}
        - name: b
          endpoints: [http://127.0.0.1:2380]
          logs: {command: [journalctl, -u, "etcd@{name}", -o, cat]}
      """)
    #expect(c.inspections.logInterval == .seconds(1))
    #expect(c.inspections.logWindow == .seconds(300))
    #expect(c.inspections.logSlowDiskOccurrences == 2)
    #expect(c.inspections.logLeaderChangeOccurrences == 3)
    #expect(c.clusters[0].logs == .file("/var/log/etcd/{name}.log"))
    #expect(c.clusters[1].logs == .command(["journalctl", "-u", "etcd@{name}", "-o", "cat"]))
    let found = problems(
      """
      inspections: {logSlowDiskOccurrences: 0}
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]
          logs: {file: /var/log/etcd.log}
        - name: b
          endpoints: [http://127.0.0.1:2380]
          logs: {file: "/x/{name}", command: [cat]}
        - name: c
          endpoints: [http://127.0.0.1:2381]
          logs: {command: []}
      """)
    #expect(found.contains { $0.path == "inspections.logSlowDiskOccurrences" })
    #expect(found.contains { $0.path == "clusters[0].logs.file" && $0.message.contains("/var/log/etcd.log") && $0.message.contains("{name}") })
    #expect(found.contains { $0.path == "clusters[1].logs" && $0.message.contains("both file and command") })
    #expect(found.contains { $0.path == "clusters[2].logs.command" && $0.message.contains("empty") })
  }

  @Test func aDeclaredSpecIsReadAndItsFlagsChecked() throws {
    let c = try load(
      """
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]
          spec: {members: 3, version: "3.4", clientTLS: true, flags: {snapshot-count: 10000, --heartbeat-interval: 100}}
      """)
    #expect(c.clusters[0].spec == ClusterSpec(members: 3, version: "3.4", clientTLS: true, flags: ["snapshot-count": "10000", "heartbeat-interval": "100"]))
    let found = problems(
      """
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]
          spec: {version: latest, flags: {snapshot-cont: 1, wal-dir: /x}, colour: blue}
      """)
    #expect(found.contains { $0.path == "clusters[0].spec.version" && $0.message.contains("\"latest\" is not a version") })
    #expect(found.contains { $0.path == "clusters[0].spec.flags.snapshot-cont" && $0.message.contains("did you mean snapshot-count") })
    #expect(found.contains { $0.path == "clusters[0].spec.flags.wal-dir" })
    #expect(found.contains { $0.path.hasPrefix("clusters[0].spec") && $0.message.contains("colour") } || found.contains { $0.path.contains("colour") })
  }

  @Test func theDiskCheckProbeIsBoundedAndHourlyByDefault() throws {
    let base = """
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]
          probeSuites: [s]
      probeSuites:
        - name: s
          probes:

      """
    let c = try load(base + "      - {kind: etcd.perf, duration: 3s, writesPerSecond: 200}")
    let p = try #require(c.probeSuites.first?.probes.first)
    #expect(p.kind == .etcdPerf && p.load?.duration == .seconds(3) && p.load?.writesPerSecond == 200)
    #expect(p.interval(tier: TierConfig.defaults["P1"]!) == .seconds(3600))
    #expect(p.timeout(tier: TierConfig.defaults["P1"]!) == .seconds(16))
    let found = problems(base + "      - {kind: etcd.perf, duration: 5m, writesPerSecond: 100000, clients: 0}\n      - {kind: etcd.kv, duration: 1s}")
    #expect(found.contains { $0.path.hasSuffix("probes[0].duration") && $0.message.contains("at most 60 s") })
    #expect(found.contains { $0.path.hasSuffix("probes[0].writesPerSecond") })
    #expect(found.contains { $0.path.hasSuffix("probes[0].clients") })
    #expect(found.contains { $0.path.hasSuffix("probes[1].duration") && $0.message.contains("does not apply to a etcd.kv probe") })
  }

  @Test func certificateFilesNameWhereTheNextOnesComeFrom() throws {
    let base = """
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]

      """
    let c = try load(base + #"    certificates: {cert: "/pki/{name}.crt", key: "/pki/{name}.key", issue: [/usr/local/bin/issue]}"#)
    #expect(c.clusters[0].certificates?.issue == ["/usr/local/bin/issue"])
    #expect(CertificateFilesConfig.path(c.clusters[0].certificates!.cert, member: "m2") == "/pki/m2.crt")
    let shared = problems(base + #"    certificates: {cert: /pki/server.crt, key: "/pki/{name}.key", issue: [x]}"#)
    #expect(shared.contains { $0.path == "clusters[0].certificates.cert" && $0.message.contains("does not contain {name}") })
    let half = problems(base + #"    certificates: {cert: "/pki/{name}.crt", key: "/pki/{name}.key", peerCert: "/pki/{name}-peer.crt", issue: [x]}"#)
    #expect(half.contains { $0.path == "clusters[0].certificates" && $0.message.contains("peerCert and peerKey go together") })
    let neither = problems(base + #"    certificates: {cert: "/pki/{name}.crt", key: "/pki/{name}.key"}"#)
    #expect(neither.contains { $0.message.contains("neither newCert and newKey nor an issue command") })
  }

  @Test func theBackupSectionHasDefaultsAndNamesBadValues() throws {
    let base = """
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]

      """
    let defaults = try load(base)
    #expect(defaults.backup.enabled)
    #expect(defaults.backup.retention.hourly == 3 && defaults.backup.retention.daily == 7)
    #expect(defaults.backup.flushInterval == .milliseconds(200))
    #expect(defaults.repair.restoreMode == .approve)
    #expect(defaults.tiers["P0"]?.snapshotInterval == .seconds(900))
    #expect(defaults.tiers["P1"]?.snapshotInterval == .seconds(3600))
    let tuned = try load(
      base + """
        backup: {dir: /b, retention: {hourly: 1, daily: 2, weekly: 4}, flushInterval: 100ms,
                 s3: {endpoint: "http://127.0.0.1:8080", bucket: vigil, pathStyle: true}}
        repair: {restoreMode: auto, tierRestoreMode: {P2: approve}, quorumLossGrace: 1m}
        tiers: {P1: {snapshotInterval: 30m}}
        """)
    #expect(tuned.backup.dir == "/b" && tuned.backup.retention.weekly == 4)
    #expect(tuned.backup.s3?.bucket == "vigil" && tuned.backup.s3?.accessKeyEnv == "AWS_ACCESS_KEY_ID")
    #expect(tuned.repair.restoreMode == .auto && tuned.repair.tierRestoreMode["P2"] == .approve)
    #expect(tuned.repair.settings.quorumLossGrace == .seconds(60))
    #expect(tuned.tiers["P1"]?.snapshotInterval == .seconds(1800))
    let found = problems(
      base + """
        backup: {flushInterval: 5s, logMaxEvents: 3, s3: {endpoint: "s3.example.com"}, retention: {hourly: -1}}
        repair: {restoreMode: dry-run}
        tiers: {P1: {snapshotInterval: 1s}}
        """)
    let paths = Set(found.map(\.path))
    for path in [
      "backup.flushInterval", "backup.logMaxEvents", "backup.s3.endpoint", "backup.s3.bucket", "backup.retention.hourly",
      "repair.restoreMode", "tiers.P1.snapshotInterval",
    ] {
      #expect(paths.contains(path), "\(path) not named in \(found)")
    }
    #expect(found.first { $0.path == "backup.s3.endpoint" }?.message.contains("\"s3.example.com\"") == true)
  }

  @Test func localRuntimeNeedsNoEndpointsAndRefusesThem() throws {
    let config = try load(
      """
      clusters:
        - name: dev
          runtime: {kind: local, members: 5}
      """)
    #expect(config.clusters[0].runtime == .local(members: 5))
    let found = problems(
      """
      clusters:
        - name: dev
          runtime: local
          endpoints: [http://127.0.0.1:2379]
      """)
    #expect(found.map(\.path) == ["clusters[0].endpoints"])
  }

  @Test func alertReceiversAreCheckedByField() {
    let yaml = """
      alerts:
        resendInterval: 0s
        receivers:
          - {kind: pagerduty, url: "https://events.example/v2/enqueue"}
          - {kind: email, url: "http://x"}
          - {kind: webhook, url: "ftp://x"}
      clusters: [{name: a, endpoints: ["127.0.0.1:2379"]}]
      """
    do {
      _ = try ConfigLoader.parse(yaml)
      Issue.record("expected problems")
    } catch {
      let text = error.problems.map(\.description).joined(separator: "\n")
      #expect(text.contains("alerts.resendInterval"))
      #expect(text.contains("alerts.receivers[0].secretEnv: missing"))
      #expect(text.contains("alerts.receivers[1].kind: \"email\" is not a receiver kind"))
      #expect(text.contains("alerts.receivers[2].url: \"ftp://x\" is not an http(s) URL"))
    }
  }

  @Test func coordinationIsReadAndCheckedByField() throws {
    let good = try load(
      """
      coordination: {endpoints: [http://10.0.0.1:2379], replicaID: vigil-a, leaseTTL: 3s, shards: 16}
      clusters: [{name: a, endpoints: ["127.0.0.1:2379"]}]
      """)
    #expect(good.coordination?.replicaID == "vigil-a" && good.coordination?.shards == 16)
    #expect(good.coordination?.leaseTTL == .seconds(3) && good.coordination?.prefix == "/vigil/coordination/")
    #expect(try load("clusters: [{name: a, endpoints: [\"127.0.0.1:2379\"]}]").coordination == nil)
    let found = problems(
      """
      coordination: {endpoints: ["nope://x"], replicaID: "a b", leaseTTL: 1500ms, shards: 0, prefix: vigil}
      clusters: [{name: a, endpoints: ["127.0.0.1:2379"]}]
      """
    ).map(\.path).sorted()
    #expect(
      found == [
        "coordination.endpoints[0]", "coordination.leaseTTL", "coordination.prefix", "coordination.replicaID",
        "coordination.shards",
      ], "\(found)")
    #expect(problems("coordination: {shards: 4}\nclusters: [{name: a, endpoints: [\"127.0.0.1:2379\"]}]").map(\.path) == ["coordination.endpoints"])
  }

  @Test func aPostgresStoreIsReadAndCheckedByField() throws {
    let good = try load(
      """
      history: {postgres: "postgresql://vigil:pw@db.example:6432/vigil?sslmode=verify-full"}
      clusters: [{name: a, endpoints: ["127.0.0.1:2379"]}]
      """)
    #expect(
      good.history.postgres
        == PostgresAddress(host: "db.example", port: 6432, user: "vigil", password: "pw", database: "vigil", tls: .verifyFull))
    #expect(good.history.postgres?.redacted == "postgresql://vigil@db.example:6432/vigil")
    #expect(try load("clusters: [{name: a, endpoints: [\"127.0.0.1:2379\"]}]").history.postgres == nil)
    for (value, says) in [
      ("mysql://u@h/d", "expected postgresql://"), ("postgresql://h/d", "no user"), ("postgresql://u@h", "no database"),
      ("postgresql://u@h/d?sslmode=maybe", "sslmode \"maybe\" is not one of disable, require, verify-full"),
      ("postgresql://u@h/d?pool=3", "unknown parameter \"pool\""),
    ] {
      let found = problems("history: {postgres: \"\(value)\"}\nclusters: [{name: a, endpoints: [\"127.0.0.1:2379\"]}]")
      #expect(found.map(\.path) == ["history.postgres"] && found.first?.message.contains(says) == true, "\(value): \(found)")
    }
    let noFile = problems(
      "history: {postgres: \"postgresql://u@h/d\", postgresPasswordFile: /nonexistent/pw}\nclusters: [{name: a, endpoints: [\"127.0.0.1:2379\"]}]")
    #expect(noFile.map(\.path) == ["history.postgresPasswordFile"], "\(noFile)")
  }

  @Test func tlsFilesMustExist() throws {
    let yaml = """
      clusters:
        - name: secure
          endpoints: [https://127.0.0.1:2379]
          tls: {ca: /etc/ca.pem, cert: /etc/c.pem, key: /etc/k.pem}
      """
    let config = try load(yaml, files: ["/etc/ca.pem", "/etc/c.pem", "/etc/k.pem"])
    #expect(config.clusters[0].tls?.cert == "/etc/c.pem")
    #expect(problems(yaml, files: ["/etc/ca.pem"]).map(\.path).sorted() == ["clusters[0].tls.cert", "clusters[0].tls.key"])
  }

  @Test func brokenYAMLAndEmptyFilesAreClear() {
    #expect(problems("clusters: [").first?.message.contains("not valid YAML") == true)
    #expect(problems("").first?.message.contains("empty") == true)
    #expect(problems("stateDir: x").map(\.path) == ["clusters"])
  }

  @Test(arguments: [("250ms", 0.25), ("2s", 2.0), ("1m30s", 90.0), ("1.5s", 1.5), ("2h", 7200.0)])
  func durationsParse(text: String, seconds: Double) throws {
    let d = try #require(ConfigDuration(parsing: text))
    #expect(abs(Double(d.duration.components.seconds) + Double(d.duration.components.attoseconds) / 1e18 - seconds) < 1e-9)
  }

  @Test(arguments: ["", "5", "ms", "5 parsecs", "-1s"])
  func badDurationsAreRejected(text: String) {
    #expect(ConfigDuration(parsing: text) == nil)
  }

  @Test func repairPolicyModesAndTheExecRuntime() throws {
    let c = try load(
      """
      repair:
        mode: approve
        policy:
          crashed: {grace: 5s}
          partitioned: {runbook: none}
        tierPolicy:
          P2: {hung: {runbook: replace-member}}
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]
          repairMode: dry-run
          runtime: {kind: exec, start: [s, start], stop: [s, stop], kill: [s, kill], wipe: [s, wipe], provision: [s, new], dataDir: "/d/{name}"}
      """)
    #expect(c.repair.mode == .approve)
    #expect(c.clusters[0].repairMode == .dryRun)
    let settings = c.repair.settings
    #expect(settings.policy.rule(for: .crashed, tier: "P1").grace == .seconds(5))
    #expect(settings.policy.rule(for: .crashed, tier: "P1").runbook == .restartMember)  // unchanged fields keep the default
    #expect(settings.policy.rule(for: .partitioned, tier: "P1").runbook == nil)
    #expect(settings.policy.rule(for: .hung, tier: "P2").runbook == .replaceMember)
    #expect(settings.policy.rule(for: .hung, tier: "P1").runbook == .unstickMember)
    guard case .exec(let exec) = c.clusters[0].runtime else {
      Issue.record("not an exec runtime")
      return
    }
    #expect(exec.start == ["s", "start"] && exec.dataDir == "/d/{name}")

    let found = problems(
      """
      repair:
        mode: sometimes
        policy:
          crashd: {grace: 5s}
          hung: {runbook: reboot}
      clusters:
        - name: a
          endpoints: [http://127.0.0.1:2379]
          runtime: {kind: exec, start: [x], dataDir: "/d"}
      """)
    let paths = Set(found.map(\.path))
    #expect(paths.isSuperset(of: [
      "repair.mode", "repair.policy.crashd", "repair.policy.hung.runbook", "clusters[0].runtime.stop",
      "clusters[0].runtime.provision", "clusters[0].runtime.dataDir",
    ]))
    #expect(found.first { $0.path == "repair.mode" }?.message.contains("\"sometimes\"") == true)
  }

  @Test func aStandbyIsAnotherClusterThatIsOnlyAStandby() throws {
    let config = try load(
      """
      standby: {maxTxnOps: 64, heartbeatInterval: 500ms, revisionMargin: 2000}
      clusters:
        - {name: a, endpoints: ["http://10.0.0.1:2379"], standby: b}
        - {name: b, endpoints: ["http://10.1.0.1:2379"]}
      """)
    #expect(config.clusters[0].standby == "b")
    #expect(config.standby.maxTxnOps == 64 && config.standby.revisionMargin == 2000)
    #expect(config.standby.heartbeatInterval == .milliseconds(500))
    let wrong = problems(
      """
      standby: {maxTxnOps: 1, heartbeatInterval: 10ms, leaseTTL: 1s}
      clusters:
        - {name: a, endpoints: ["http://10.0.0.1:2379"], standby: a}
        - {name: b, endpoints: ["http://10.1.0.1:2379"], standby: nowhere}
        - {name: c, endpoints: ["http://10.2.0.1:2379"], standby: d}
        - {name: d, endpoints: ["http://10.3.0.1:2379"], standby: e}
        - {name: e, endpoints: ["http://10.4.0.1:2379"]}
      """)
    let byPath = Dictionary(grouping: wrong, by: \.path).mapValues { $0.map(\.message).joined(separator: " | ") }
    #expect(byPath["clusters[0].standby"]?.contains("this cluster itself") == true)
    #expect(byPath["clusters[1].standby"]?.contains("unknown cluster \"nowhere\"") == true)
    #expect(byPath["clusters[2].standby"]?.contains("no chains") == true)
    #expect(byPath["clusters[3].standby"]?.contains("itself a standby") == true)
    #expect(byPath["standby.maxTxnOps"] != nil)
    #expect(byPath["standby.heartbeatInterval"]?.contains("10ms") == true)
    #expect(byPath["standby.leaseTTL"]?.contains("at least 5s") == true)
    let shared = problems(
      """
      clusters:
        - {name: a, endpoints: ["http://10.0.0.1:2379"], standby: c}
        - {name: b, endpoints: ["http://10.1.0.1:2379"], standby: c}
        - {name: c, endpoints: ["http://10.2.0.1:2379"]}
      """)
    #expect(shared.contains { $0.path == "clusters[0].standby" && $0.message.contains("standby of 2 clusters") })
  }
}
