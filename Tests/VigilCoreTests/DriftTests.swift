import Testing
import VigilCore

@Suite("Configuration drift (pure)")
struct DriftTests {
  @Test func argumentsAreReadInEveryFormEtcdTakes() {
    let flags = Drift.flags([
      "/usr/bin/etcd", "--name", "m1", "--snapshot-count=5000", "--enable-v2", "--client-cert-auth", "--heartbeat-interval",
      "200", "-election-timeout", "2000",
    ])
    #expect(flags["name"] == "m1")
    #expect(flags["snapshot-count"] == "5000")
    #expect(flags["enable-v2"] == "true")
    #expect(flags["client-cert-auth"] == "true")
    #expect(flags["heartbeat-interval"] == "200")
    #expect(flags["election-timeout"] == "2000")
  }

  @Test func eachMemberThatDiffersIsAFindingWithADiff() {
    let spec = ClusterSpec(
      members: 3, version: "3.4", clientTLS: false,
      flags: ["snapshot-count": "10000", "quota-backend-bytes": "2147483648", "heartbeat-interval": "100"])
    let running = [
      // Declared everywhere: the quota unset is etcd's 2 GiB default, the heartbeat unset is 100.
      MemberRunning(name: "m1", version: "3.4.23", clientTLS: false, peerTLS: false, arguments: ["--snapshot-count", "10000"]),
      MemberRunning(
        name: "m2", version: "3.5.1", clientTLS: false, peerTLS: false,
        arguments: ["--snapshot-count=5000", "--quota-backend-bytes", "0", "--heartbeat-interval", "250"]),
      // Its command line unknown: only what the API shows is compared.
      MemberRunning(name: "m3", version: "3.4.9", clientTLS: false, peerTLS: false, arguments: nil),
    ]
    let found = Drift.findings(cluster: "c", spec: spec, voters: 3, members: running)
    #expect(found.count == 1)
    let m2 = found[0]
    #expect(m2.check == "drift" && m2.member == "m2" && m2.severity == .warning)
    #expect(m2.summary == "m2 differs from the declared spec in version, --heartbeat-interval, --snapshot-count")
    #expect(m2.evidence == [
      "- version: 3.4 (declared)", "+ version: 3.5.1 (m2)",
      "- --heartbeat-interval: 100 (declared)", "+ --heartbeat-interval: 250 (m2)",
      "- --snapshot-count: 10000 (declared)", "+ --snapshot-count: 5000 (m2)",
    ])
    // A declared flag left at its default says so.
    let unset = Drift.findings(
      cluster: "c", spec: ClusterSpec(flags: ["snapshot-count": "10000"]), voters: 3,
      members: [MemberRunning(name: "m1", version: nil, clientTLS: nil, peerTLS: nil, arguments: [])])
    #expect(unset.first?.evidence.last == "+ --snapshot-count: 100000 (default) (m1)")
  }

  @Test func tlsOffWhereDeclaredOnIsCriticalAndTheCountIsCompared() {
    let spec = ClusterSpec(members: 5, clientTLS: true, peerTLS: true)
    let found = Drift.findings(
      cluster: "c", spec: spec, voters: 3,
      members: [MemberRunning(name: "m1", version: "3.4.23", clientTLS: true, peerTLS: false, arguments: nil)])
    #expect(found.map(\.summary) == ["3 voters run, 5 declared", "m1 differs from the declared spec in peer TLS"])
    #expect(found.last?.severity == .critical)
  }

  @Test func driftIsAnAlertEvenAsAWarning() {
    let drift = Finding(
      check: "drift", cluster: "c", member: "m2", severity: .warning, summary: "m2 differs", evidence: ["- a", "+ b"],
      action: "restart")
    let alerts = AlertRules.alerts(clusters: [ClusterAlertInput(name: "c", findings: [drift])], stalledLoops: [], now: 1)
    #expect(alerts.map(\.name) == ["VigilConfigurationDrift"])
    #expect(alerts.first?.severity == "warning" && alerts.first?.member == "m2")
    #expect(alerts.first?.description == "- a\n+ b\nrestart")
  }
}

@Suite("Certificate rotation safety (pure)")
struct RotationSafetyTests {
  func cluster(_ healthy: [String: Bool], leader: String = "m1") -> LiveCluster {
    LiveCluster(
      members: healthy.keys.sorted().enumerated().map { i, name in
        LiveMember(id: UInt64(i + 1), name: name, isLearner: false, healthy: healthy[name]!, isLeader: name == leader)
      })
  }

  @Test func aMemberIsRestartedOnlyWhileEveryOtherVoterIsHealthy() {
    let step = PlanStep(.rotateMemberCertificates, member: "m2")
    let context = GuardContext(now: 0)
    #expect(SafetyGuard.check(step, in: cluster(["m1": true, "m2": true, "m3": true]), context) == nil)
    #expect(
      SafetyGuard.check(step, in: cluster(["m1": true, "m2": true, "m3": false]), context)
        == "m3 is not healthy; restart m2 with new certificates only while every other voter is")
    // A one-member cluster cannot restart its only voter and keep a quorum.
    #expect(SafetyGuard.check(PlanStep(.rotateMemberCertificates, member: "m1"), in: cluster(["m1": true]), context)?
      .contains("a quorum needs 1") == true)
  }
}
