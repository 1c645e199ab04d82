/// Something a person must know, as Vigil sends it: who it is about, what failed, where to look.
public struct VigilAlert: Sendable, Hashable, Codable {
  /// Stable while the condition lasts: dedupe and resolve go by it.
  public var key: String
  /// `VigilEscalated`, `VigilRepairFailed`, `VigilQuorumLost`, `VigilCriticalFinding`, `VigilConfigurationDrift`,
  /// `VigilStalled`.
  public var name: String
  /// `critical` or `warning`.
  public var severity: String
  /// `cluster` for a cluster's trouble, `vigil` for Vigil's own.
  public var source: String
  public var cluster: String?
  public var member: String?
  public var incidentID: Int64?
  /// One line naming what failed.
  public var summary: String
  /// What Vigil already knows or tried.
  public var description: String
  public var dashboardURL: String?
  public var runbookURL: String?
  /// When the condition began (Unix seconds).
  public var startsAt: Double

  public init(
    key: String, name: String, severity: String, source: String, cluster: String?, member: String? = nil,
    incidentID: Int64? = nil, summary: String, description: String, startsAt: Double
  ) {
    self.key = key
    self.name = name
    self.severity = severity
    self.source = source
    self.cluster = cluster
    self.member = member
    self.incidentID = incidentID
    self.summary = summary
    self.description = description
    self.startsAt = startsAt
  }
}

/// What the alert rules look at, per cluster, at one instant.
public struct ClusterAlertInput: Sendable {
  public var name: String
  /// An open incident: its id, the member (nil: the cluster), the fault named, when it began.
  public struct OpenIncident: Sendable, Hashable {
    public var id: Int64
    public var member: String?
    public var fault: Fault?
    public var since: Double
    public init(id: Int64, member: String?, fault: Fault?, since: Double) {
      self.id = id
      self.member = member
      self.fault = fault
      self.since = since
    }
  }
  public var incidents: [OpenIncident]
  /// Faults Vigil handed to a person: the planner's key (`cluster/member/fault`) and the audit's reason.
  public var escalations: [(key: String, reason: String, at: Double)]
  /// Plans that failed or were abandoned recently: id, runbook, state, when, the failing step's words.
  public var failedPlans: [(id: Int64, runbook: Runbook, state: PlanState, at: Double, why: String)]
  public var findings: [Finding]
  /// Whether the cluster has lost quorum or has no leader (from the diagnoses).
  public var quorumLost: Bool
  public var quorumSince: Double?

  public init(
    name: String, incidents: [OpenIncident] = [], escalations: [(key: String, reason: String, at: Double)] = [],
    failedPlans: [(id: Int64, runbook: Runbook, state: PlanState, at: Double, why: String)] = [], findings: [Finding] = [],
    quorumLost: Bool = false, quorumSince: Double? = nil
  ) {
    self.name = name
    self.incidents = incidents
    self.escalations = escalations
    self.failedPlans = failedPlans
    self.findings = findings
    self.quorumLost = quorumLost
    self.quorumSince = quorumSince
  }
}

/// Which alerts stand now (pure): escalations and refusals ("a person is needed"), failed repairs, quorum
/// lost or no leader, critical findings, and Vigil's own stalled loops, each with the incident it belongs to.
public enum AlertRules {
  /// Links put into every alert: `{cluster}` and `{incident}` are filled in.
  public struct Links: Sendable, Hashable {
    public var dashboard: String?
    public var runbook: String?
    public init(dashboard: String? = nil, runbook: String? = nil) {
      self.dashboard = dashboard
      self.runbook = runbook
    }
  }

  public static func alerts(
    clusters: [ClusterAlertInput], stalledLoops: [(loop: String, silentSeconds: Double)], now: Double, links: Links = Links()
  ) -> [VigilAlert] {
    var out: [VigilAlert] = []
    for c in clusters {
      func incident(for member: String?) -> ClusterAlertInput.OpenIncident? {
        c.incidents.first { $0.member == member } ?? c.incidents.first { $0.member == nil } ?? c.incidents.first
      }
      for e in c.escalations {
        let parts = e.key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let member = parts.count > 2 && !parts[1].isEmpty ? parts[1] : nil
        let inc = incident(for: member)
        out.append(
          VigilAlert(
            key: "escalated/\(e.key)", name: "VigilEscalated", severity: "critical", source: "cluster", cluster: c.name,
            member: member, incidentID: inc?.id,
            summary: "\(c.name)\(member.map { "/\($0)" } ?? ""): a person is needed — \(e.reason)",
            description: "Vigil will not act on this itself. \(inc.map { "Incident #\($0.id)\($0.fault.map { " (\($0.rawValue))" } ?? "")." } ?? "")",
            startsAt: e.at))
      }
      for p in c.failedPlans {
        out.append(
          VigilAlert(
            key: "repair-failed/\(c.name)/\(p.id)", name: "VigilRepairFailed", severity: "critical", source: "cluster",
            cluster: c.name, incidentID: incident(for: nil)?.id,
            summary: "\(c.name): repair #\(p.id) \(p.runbook.rawValue) \(p.state.rawValue) — \(p.why)",
            description: "The plan's journal (GET /v1/repairs/\(p.id)) has every step and its output.", startsAt: p.at))
      }
      if c.quorumLost {
        let inc = incident(for: nil)
        out.append(
          VigilAlert(
            key: "quorum/\(c.name)", name: "VigilQuorumLost", severity: "critical", source: "cluster", cluster: c.name,
            incidentID: inc?.id, summary: "\(c.name): quorum lost or no leader — writes are refused",
            description: "Open incidents: \(c.incidents.map { "#\($0.id) \($0.member ?? c.name) \($0.fault?.rawValue ?? "")" }.joined(separator: ", "))",
            startsAt: c.quorumSince ?? inc?.since ?? now))
      }
      // Configuration drift is told even when it is only a warning: nobody else compares what runs with what was
      // declared.
      for f in c.findings where f.check == "drift" && f.severity != .critical {
        out.append(
          VigilAlert(
            key: "drift/\(c.name)/\(f.member ?? "")", name: "VigilConfigurationDrift", severity: "warning",
            source: "cluster", cluster: c.name, member: f.member, incidentID: nil,
            summary: "\(c.name)\(f.member.map { "/\($0)" } ?? ""): drift — \(f.summary)",
            description: (f.evidence + [f.action]).joined(separator: "\n"), startsAt: now))
      }
      for f in c.findings where f.severity == .critical {
        out.append(
          VigilAlert(
            key: "finding/\(c.name)/\(f.check)/\(f.member ?? "")", name: "VigilCriticalFinding", severity: "critical",
            source: "cluster", cluster: c.name, member: f.member, incidentID: incident(for: f.member)?.id,
            summary: "\(c.name)\(f.member.map { "/\($0)" } ?? ""): \(f.check) — \(f.summary)", description: f.action,
            startsAt: now))
      }
    }
    for s in stalledLoops {
      out.append(
        VigilAlert(
          key: "stalled/\(s.loop)", name: "VigilStalled", severity: "critical", source: "vigil", cluster: nil,
          summary: "Vigil itself: loop \(s.loop) silent for \(Int(s.silentSeconds)) s",
          description: "Vigil's own failure, not a cluster's: what that loop watches is not watched.",
          startsAt: now - s.silentSeconds))
    }
    return out.map { a in
      var a = a
      let fill = { (t: String) in
        t.replacingOccurrences(of: "{cluster}", with: a.cluster ?? "")
          .replacingOccurrences(of: "{incident}", with: a.incidentID.map(String.init) ?? "")
      }
      a.dashboardURL = links.dashboard.map(fill)
      a.runbookURL = links.runbook.map(fill)
      return a
    }
  }

  /// What changed between two sets: alerts to send as firing (new) and as resolved (gone).
  public static func changes(from old: [VigilAlert], to new: [VigilAlert]) -> (firing: [VigilAlert], resolved: [VigilAlert]) {
    let before = Set(old.map(\.key))
    let after = Set(new.map(\.key))
    return (new.filter { !before.contains($0.key) }, old.filter { !after.contains($0.key) })
  }
}
