/// One line of an incident's timeline.
public struct IncidentEvent: Sendable, Hashable, Codable {
  /// Seconds since 1970.
  public var at: Double
  /// `probe-failure`, `transition`, `diagnosis`, `repair`, `note`.
  public var kind: String
  public var text: String

  public init(at: Double, kind: String, text: String) {
    self.at = at
    self.kind = kind
    self.text = text
  }
}

/// A stretch of time during which a member or a cluster was not healthy.
public struct Incident: Sendable, Hashable, Codable {
  /// Assigned by ``IncidentBook`` (and kept by the store).
  public var id: Int64
  public var cluster: String
  /// `cluster` or `cluster/member`.
  public var subject: String
  public var member: String?
  /// When it left healthy (seconds since 1970).
  public var openedAt: Double
  /// The earliest the fault can have begun: the last good probe before it (or ``openedAt``).
  public var onsetAt: Double
  /// When it was confirmed failed.
  public var detectedAt: Double?
  public var closedAt: Double?
  /// The worst state reached.
  public var worst: HealthState
  public var fault: Fault?
  public var diagnosis: String?
  public var timeline: [IncidentEvent]
  /// When a repair was verified: the cluster healthy again with every voter.
  public var recoveredAt: Double?

  /// Time to detect: onset → confirmed failed.
  public var mttd: Double? { detectedAt.map { $0 - onsetAt } }
  /// Time to repair: confirmed failed (or opened) → repair verified.
  public var mttr: Double? { recoveredAt.map { $0 - (detectedAt ?? openedAt) } }
  public var isOpen: Bool { closedAt == nil }

  public init(
    id: Int64 = 0, cluster: String, subject: String, member: String?, openedAt: Double, onsetAt: Double,
    detectedAt: Double? = nil, closedAt: Double? = nil, worst: HealthState, fault: Fault? = nil,
    diagnosis: String? = nil, timeline: [IncidentEvent] = [], recoveredAt: Double? = nil
  ) {
    self.recoveredAt = recoveredAt
    self.id = id
    self.cluster = cluster
    self.subject = subject
    self.member = member
    self.openedAt = openedAt
    self.onsetAt = onsetAt
    self.detectedAt = detectedAt
    self.closedAt = closedAt
    self.worst = worst
    self.fault = fault
    self.diagnosis = diagnosis
    self.timeline = timeline
  }
}

/// What happened to an incident, for the shell to store and publish.
public enum IncidentChange: Sendable, Hashable {
  case opened(Incident)
  /// The incident as it is now, and the timeline events just added.
  case updated(Incident, added: [IncidentEvent])
  case closed(Incident, added: [IncidentEvent])

  public var incident: Incident {
    switch self {
    case .opened(let i), .updated(let i, _), .closed(let i, _): i
    }
  }
}

/// Opens, extends and closes incidents from health transitions, probe
/// failures and diagnoses. Pure: times come in as arguments.
public struct IncidentBook: Sendable {
  public private(set) var open: [String: Incident] = [:]
  /// The id the next incident gets (ids are assigned here, so every change can be stored in order).
  public private(set) var nextID: Int64
  /// Timeline entries kept per incident; later probe failures are counted, not listed.
  public var timelineLimit = 200

  public init(restoring incidents: [Incident] = [], nextID: Int64 = 1) {
    for i in incidents where i.isOpen { open[i.subject] = i }
    self.nextID = max(nextID, (incidents.map(\.id).max() ?? 0) + 1)
  }

  /// A health transition of `subject`. Leaving healthy opens an incident;
  /// reaching healthy closes it.
  public mutating func transition(
    cluster: String, subject: String, member: String?, _ t: HealthTransition, at: Double, lastGoodAt: Double?
  ) -> IncidentChange? {
    let event = IncidentEvent(
      at: at, kind: "transition",
      text: "\(t.from.rawValue) → \(t.to.rawValue)" + (t.evidence.isEmpty ? "" : ": " + t.evidence.joined(separator: "; ")))
    if var incident = open[subject] {
      incident.timeline.append(event)
      if t.to == .healthy {
        incident.closedAt = at
        open[subject] = nil
        return .closed(incident, added: [event])
      }
      if t.to == .failed {
        if incident.detectedAt == nil { incident.detectedAt = at }
        incident.worst = .failed
      }
      open[subject] = incident
      return .updated(incident, added: [event])
    }
    guard t.to == .suspect || t.to == .failed else { return nil }
    let incident = Incident(
      id: nextID, cluster: cluster, subject: subject, member: member, openedAt: at, onsetAt: min(at, lastGoodAt ?? at),
      detectedAt: t.to == .failed ? at : nil, worst: t.to, timeline: [event])
    nextID += 1
    open[subject] = incident
    return .opened(incident)
  }

  /// A failed probe of `subject` while its incident is open.
  public mutating func probeFailed(subject: String, text: String, at: Double) -> IncidentChange? {
    guard var incident = open[subject], incident.timeline.count < timelineLimit else { return nil }
    let event = IncidentEvent(at: at, kind: "probe-failure", text: text)
    incident.timeline.append(event)
    open[subject] = incident
    return .updated(incident, added: [event])
  }

  /// A diagnosis for `subject`; recorded when it differs from the last one. The incident's fault is the
  /// weightiest named so far: a member that crashed and then hangs while it restarts stays "crashed",
  /// one that comes back with another identity becomes "data loss".
  public mutating func diagnosed(subject: String, _ d: Diagnosis, at: Double) -> IncidentChange? {
    guard var incident = open[subject] else { return nil }
    let head = "\(d.fault.rawValue): \(d.reason)"
    let previous = incident.timeline.last(where: { $0.kind == "diagnosis" })?.text
    guard previous?.split(separator: "\n", maxSplits: 1).first.map(String.init) != head else { return nil }
    // The log lines behind it follow the name, one a line ("log: …").
    let text = ([head] + d.evidence.map { "log: " + $0 }).joined(separator: "\n")
    let event = IncidentEvent(at: at, kind: "diagnosis", text: text)
    // Once Vigil has acted, what its own repair causes (a member it killed to unstick refuses connections
    // while it restarts) does not rename the fault; definite evidence of lost data still does.
    let acted = incident.timeline.contains { $0.kind == "repair" }
    let liveness: Set<Fault> = [.crashed, .hung, .partitioned]
    if incident.fault.map({ Self.weight(d.fault) > Self.weight($0) && !(acted && liveness.contains(d.fault)) }) ?? true {
      incident.fault = d.fault
      incident.diagnosis = d.reason
    }
    // Lost data, corruption and NOSPACE are definite evidence: detected as soon as they are named, even
    // before the probes confirm a failure (Vigil may repair it before they do).
    if incident.detectedAt == nil, [.dataLoss, .corruption, .noSpace].contains(d.fault) { incident.detectedAt = at }
    incident.timeline.append(event)
    open[subject] = incident
    return .updated(incident, added: [event])
  }

  /// Which fault names an incident when several were diagnosed: lost or corrupt data, then the cluster's
  /// state, then "crashed" (a refused connection is proof; a timeout is not), then hung or partitioned
  /// (the first one named stays), then slowness.
  static func weight(_ f: Fault) -> Int {
    switch f {
    case .dataLoss, .corruption: 5
    case .quorumLost, .noLeader, .noSpace: 4
    case .crashed: 3
    case .hung, .partitioned: 2
    case .slowDisk: 1
    }
  }

  /// A repair event (plan, step, verification) for the open incident `id`;
  /// `recovered` marks the repair verified (its MTTR). Nil when it is not open here.
  public mutating func repaired(incident id: Int64, text: String, at: Double, recovered: Bool) -> IncidentChange? {
    guard let subject = open.first(where: { $0.value.id == id })?.key, var incident = open[subject] else { return nil }
    let event = IncidentEvent(at: at, kind: "repair", text: text)
    incident.timeline.append(event)
    if recovered && incident.recoveredAt == nil { incident.recoveredAt = at }
    open[subject] = incident
    return .updated(incident, added: [event])
  }

  /// Takes on incidents left open by another replica that guarded their cluster until now; a subject with an
  /// incident open here keeps its own.
  public mutating func adopt(_ incidents: [Incident]) {
    for i in incidents where i.isOpen && open[i.subject] == nil { open[i.subject] = i }
  }

  /// Lets go of `cluster`'s open incidents without closing them: another replica guards it now and carries
  /// them on. Returns them.
  @discardableResult
  public mutating func letGo(cluster: String) -> [Incident] {
    let leaving = open.values.filter { $0.cluster == cluster }
    for i in leaving { open[i.subject] = nil }
    return leaving
  }

  /// Closes the incident of a subject that no longer exists (a removed member, a dropped cluster).
  public mutating func retire(subject: String, reason: String, at: Double) -> IncidentChange? {
    guard var incident = open.removeValue(forKey: subject) else { return nil }
    let event = IncidentEvent(at: at, kind: "note", text: reason)
    incident.timeline.append(event)
    incident.closedAt = at
    return .closed(incident, added: [event])
  }
}
