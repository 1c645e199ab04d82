import Testing
import VigilAPI
import VigilCore

/// The release gate's decision, as pure logic.
@Suite("Release gate")
struct ReleaseGateTests {
  static func cluster(
    health: HealthState = .healthy, findings: [Finding] = [], probes: [MonitorStatus.ProbeStatusLine] = []
  ) -> MonitorStatus.ClusterStatus {
    MonitorStatus.ClusterStatus(
      name: "c", tier: "P1", health: health, endpoints: [],
      members: [MonitorStatus.MemberStatus(name: "m1", id: "1", endpoint: nil, learner: false, health: health == .healthy ? .healthy : .failed, diagnosis: health == .healthy ? nil : "crashed")],
      diagnoses: [], findings: findings, probes: probes, openIncidents: [])
  }

  @Test func aHealthyQuietClusterPasses() {
    let info = Finding(check: "fragmentation", cluster: "c", severity: .info, summary: "10 % free", evidence: [], action: "")
    let warning = Finding(check: "leader-changes", cluster: "c", severity: .warning, summary: "3 in 1 h", evidence: [], action: "")
    let d = ReleaseGate.decide(Self.cluster(findings: [info, warning]), plans: [])
    #expect(d.passed && d.decision == "pass" && d.reasons.isEmpty)
  }

  @Test func everyReasonToWaitIsNamed() {
    let critical = Finding(check: "quota", cluster: "c", severity: .critical, summary: "96 % of the quota", evidence: [], action: "")
    let backup = Finding(check: "backup-age", cluster: "c", severity: .warning, summary: "2 h old", evidence: [], action: "")
    let lag = Finding(check: "standby-lag", cluster: "c", severity: .warning, summary: "4 s behind", evidence: [], action: "")
    let probe = MonitorStatus.ProbeStatusLine(
      subject: "c/m1", probe: "etcd.kv", health: .failed, lastOK: false, lastMessage: "refused", lastLatencyMs: nil,
      lastAt: nil, runs: 3)
    let plan = RepairPlan(
      id: 7, cluster: "c", member: "m1", runbook: .restartMember, fault: .crashed, reason: "", incidentID: nil,
      requestedBy: "vigil", state: .running, at: 0, steps: [])
    var status = Self.cluster(health: .failed, findings: [critical, backup, lag], probes: [probe])
    status.openIncidents = []
    let d = ReleaseGate.decide(status, plans: [plan])
    #expect(!d.passed && d.decision == "fail")
    #expect(d.reasons.count == 7, "\(d.reasons)")
    #expect(d.reasons.contains("cluster health is failed"))
    #expect(d.reasons.contains("member m1 is failed (crashed)"))
    #expect(d.reasons.contains("probe etcd.kv on c/m1 is failed: refused"))
    #expect(d.reasons.contains("critical finding quota: 96 % of the quota"))
    #expect(d.reasons.contains("warning finding backup-age: 2 h old"))
    #expect(d.reasons.contains("warning finding standby-lag: 4 s behind"))
    #expect(d.reasons.contains("repair #7 restart-member is running"))
  }
}
