import Foundation
import Testing
import VigilCore

/// Which alerts stand, what changes between two instants, and what each receiver is sent — as pure logic.
@Suite("Alert rules and payloads")
struct AlertRulesTests {
  static let incident = ClusterAlertInput.OpenIncident(id: 41, member: nil, fault: .quorumLost, since: 100)

  @Test func eachConditionIsOneAlertNamingItsIncidentAndLinks() {
    let critical = Finding(check: "quota", cluster: "c", severity: .critical, summary: "96 %", evidence: [], action: "compact")
    let warning = Finding(check: "leader-changes", cluster: "c", severity: .warning, summary: "3", evidence: [], action: "")
    let c = ClusterAlertInput(
      name: "c", incidents: [Self.incident, .init(id: 42, member: "m2", fault: .crashed, since: 101)],
      escalations: [(key: "c/m2/crashed", reason: "storm brake: 2 members failed", at: 102)],
      failedPlans: [(id: 9, runbook: .replaceMember, state: .failed, at: 103, why: "add-learner failed: timed out")],
      findings: [critical, warning], quorumLost: true, quorumSince: 100)
    let alerts = AlertRules.alerts(
      clusters: [c, ClusterAlertInput(name: "quiet")], stalledLoops: [(loop: "repair", silentSeconds: 30)], now: 200,
      links: .init(dashboard: "https://vigil/d/{cluster}/{incident}", runbook: "https://vigil/r"))
    #expect(alerts.map(\.name).sorted() == ["VigilCriticalFinding", "VigilEscalated", "VigilQuorumLost", "VigilRepairFailed", "VigilStalled"])
    let escalated = alerts.first { $0.name == "VigilEscalated" }!
    #expect(escalated.member == "m2" && escalated.incidentID == 42 && escalated.summary.contains("storm brake"))
    #expect(escalated.dashboardURL == "https://vigil/d/c/42" && escalated.runbookURL == "https://vigil/r")
    let quorum = alerts.first { $0.name == "VigilQuorumLost" }!
    #expect(quorum.incidentID == 41 && quorum.startsAt == 100 && quorum.source == "cluster")
    #expect(alerts.first { $0.name == "VigilRepairFailed" }!.summary.contains("#9 replace-member failed — add-learner failed"))
    let stalled = alerts.first { $0.name == "VigilStalled" }!
    #expect(stalled.source == "vigil" && stalled.cluster == nil && stalled.startsAt == 170)
  }

  @Test func onlyChangesAreSentAndAGoneAlertResolves() {
    let a = VigilAlert(key: "quorum/c", name: "VigilQuorumLost", severity: "critical", source: "cluster", cluster: "c", summary: "", description: "", startsAt: 1)
    let b = VigilAlert(key: "stalled/repair", name: "VigilStalled", severity: "critical", source: "vigil", cluster: nil, summary: "", description: "", startsAt: 1)
    var changes = AlertRules.changes(from: [], to: [a])
    #expect(changes.firing.map(\.key) == ["quorum/c"] && changes.resolved.isEmpty)
    changes = AlertRules.changes(from: [a], to: [a, b])
    #expect(changes.firing.map(\.key) == ["stalled/repair"] && changes.resolved.isEmpty)
    changes = AlertRules.changes(from: [a, b], to: [b])
    #expect(changes.firing.isEmpty && changes.resolved.map(\.key) == ["quorum/c"])
  }

  @Test func receiversGetTheirOwnFormats() throws {
    var a = VigilAlert(
      key: "quorum/c", name: "VigilQuorumLost", severity: "critical", source: "cluster", cluster: "c", incidentID: 41,
      summary: "c: quorum lost", description: "d", startsAt: 0)
    a.dashboardURL = "https://vigil/d"
    let am = try JSONSerialization.jsonObject(with: AlertPayloads.alertmanager(firing: [a], resolved: [a], now: 60)) as! [[String: Any]]
    #expect(am.count == 2)
    #expect((am[0]["labels"] as! [String: String]) == ["alertname": "VigilQuorumLost", "severity": "critical", "source": "cluster", "cluster": "c", "incident": "41"])
    #expect(am[0]["endsAt"] == nil && (am[1]["endsAt"] as! String).hasPrefix("1970-01-01T00:01:00"))
    let pd = try JSONSerialization.jsonObject(with: AlertPayloads.pagerDuty(routingKey: "k", alert: a, resolve: false)) as! [String: Any]
    #expect(pd["dedup_key"] as? String == "vigil-incident-41" && pd["event_action"] as? String == "trigger")
    let resolve = try JSONSerialization.jsonObject(with: AlertPayloads.pagerDuty(routingKey: "k", alert: a, resolve: true)) as! [String: Any]
    #expect(resolve["event_action"] as? String == "resolve" && resolve["payload"] == nil)
    let slack = try JSONSerialization.jsonObject(with: AlertPayloads.slack(status: "firing", alerts: [a])) as! [String: String]
    #expect(slack["text"] == "[FIRING] c: quorum lost (incident #41) <https://vigil/d|dashboard>")
  }
}
