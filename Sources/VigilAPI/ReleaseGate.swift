import Foundation
import VigilCore

/// The release gate's answer for one cluster: pass, or fail with every reason (a pipeline prints them).
public struct GateDecision: Sendable, Codable, Hashable {
  /// `pass` or `fail`.
  public var decision: String
  public var cluster: String
  public var reasons: [String]

  public var passed: Bool { decision == "pass" }

  public init(cluster: String, reasons: [String]) {
    self.cluster = cluster
    self.reasons = reasons
    decision = reasons.isEmpty ? "pass" : "fail"
  }
}

/// Whether a pipeline may go ahead with a change to a cluster now (KubeProbe's "block the release when the
/// control plane is unhealthy"): not while anything Vigil knows says the cluster is in trouble or being worked
/// on. Pure: the caller hands in what Vigil's status and journal say.
public enum ReleaseGate {
  /// Checks that make a warning finding block the gate too: a stale backup and a lagging standby put the
  /// tier's RPO at risk.
  public static let blockingChecks: Set<String> = ["backup-age", "standby-lag", "standby-refused"]

  /// - Parameters:
  ///   - cluster: the cluster's status (health, incidents, probes, findings).
  ///   - plans: its repair plans that have not finished (running, ready, awaiting approval).
  public static func decide(_ cluster: MonitorStatus.ClusterStatus, plans: [RepairPlan]) -> GateDecision {
    var reasons: [String] = []
    if cluster.health != .healthy { reasons.append("cluster health is \(cluster.health.rawValue)") }
    for member in cluster.members where member.health != .healthy {
      reasons.append("member \(member.name) is \(member.health.rawValue)\(member.diagnosis.map { " (\($0))" } ?? "")")
    }
    for incident in cluster.openIncidents {
      reasons.append("incident #\(incident.id) open on \(incident.subject)\(incident.fault.map { ": \($0.rawValue)" } ?? "")")
    }
    for probe in cluster.probes where probe.health == .failed || probe.health == .suspect {
      reasons.append(
        "probe \(probe.probe) on \(probe.subject) is \(probe.health.rawValue)\(probe.lastMessage.map { ": \($0)" } ?? "")")
    }
    for finding in cluster.findings where finding.severity == .critical || blockingChecks.contains(finding.check) {
      let who = finding.member.map { " (\($0))" } ?? ""
      reasons.append("\(finding.severity.rawValue) finding \(finding.check)\(who): \(finding.summary)")
    }
    for plan in plans where !plan.state.isFinished {
      reasons.append("repair #\(plan.id) \(plan.runbook.rawValue) is \(plan.state.rawValue)")
    }
    return GateDecision(cluster: cluster.name, reasons: reasons)
  }
}
