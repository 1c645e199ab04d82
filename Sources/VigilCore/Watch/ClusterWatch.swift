/// A probe target as the watch knows it: what it looks at, not how it runs.
public struct WatchTarget: Sendable, Hashable {
  /// What a target's result tells beyond success: a write round trip, a member's status, or nothing more.
  public enum Role: Sendable, Hashable {
    case writes
    case status
    case other
  }

  /// Unique among targets (`subject|probe`).
  public var key: String
  public var subject: Subject
  public var probe: String
  public var role: Role

  public init(key: String, subject: Subject, probe: String, role: Role) {
    self.key = key
    self.subject = subject
    self.probe = probe
    self.role = role
  }
}

/// What a member answered in its status probe.
public struct StatusSample: Sendable, Hashable {
  public var memberID: UInt64
  public var clusterID: UInt64
  public var leader: UInt64
  public var raftIndex: UInt64
  public var alarms: Set<String>

  public init(memberID: UInt64, clusterID: UInt64, leader: UInt64, raftIndex: UInt64, alarms: Set<String> = []) {
    self.memberID = memberID
    self.clusterID = clusterID
    self.leader = leader
    self.raftIndex = raftIndex
    self.alarms = alarms
  }
}

/// What a TCP connect to a member's client port showed after one of its probes timed out or was cut off.
public enum Reach: Sendable, Hashable {
  case notChecked
  /// It accepts connections: the process lives (hung, or cut off from a quorum).
  case accepting
  /// The connect timed out: the network path is cut.
  case silent
  /// Nothing listens: the process is gone (a request cut off as it died is a crash, not a hang).
  case refused

  var tcpReachable: Bool? {
    switch self {
    case .accepting: true
    case .silent: false
    case .notChecked, .refused: nil
    }
  }
}

/// One probe result, with what the shell learned around it.
public struct WatchResult: Sendable, Hashable {
  public var observation: ProbeObservation
  /// The member's status, when the probe read it (even one with a problem: no leader, an alarm).
  public var status: StatusSample?
  public var reach: Reach
  /// For a refused member of a runtime Vigil drives: whether its data dir is empty or missing.
  public var dataDirLost: Bool?

  public init(observation: ProbeObservation, status: StatusSample? = nil, reach: Reach = .notChecked, dataDirLost: Bool? = nil) {
    self.observation = observation
    self.status = status
    self.reach = reach
    self.dataDirLost = dataDirLost
  }
}

/// A member as the member list gives it.
public struct WatchMember: Sendable, Hashable {
  public var id: UInt64
  public var name: String
  public var isLearner: Bool

  public init(id: UInt64, name: String, isLearner: Bool) {
    self.id = id
    self.name = name
    self.isLearner = isLearner
  }
}

/// What the shell carries out after the watch took something in.
public enum WatchDirective: Sendable, Hashable {
  /// Re-probe this target at once to confirm its failure.
  case confirm
  /// A subject's health changed at `at`: store, count and log the transition.
  case healthChanged(Subject, HealthTransition, at: Double)
  /// An incident changed: store it in order; `openInCluster` is how many of its cluster's are open now.
  case incident(IncidentChange, openInCluster: Int)
  /// A failure was confirmed `after` seconds after its onset.
  case detected(cluster: String, after: Double)
  /// Probe every target of the cluster now.
  case probeNow(cluster: String, reason: String)
  /// Worth a log line: a new leader, a member with another identity, a raft index that went backwards.
  case noticed(cluster: String, ObserverEvent)
}

/// What Vigil believes about the clusters it watches, and every rule that turns a probe result, a member
/// list or an inspection into health, a diagnosis and incidents. Pure: the shell (the monitor) runs the
/// probes and carries out the directives; times come in as arguments.
public struct ClusterWatch: Sendable {
  public let detectorSettings: DetectorSettings
  public private(set) var targets: [String: WatchTarget] = [:]
  public private(set) var detectors: [String: FailureDetector] = [:]
  /// Each target's latest result, when it came and how many runs it has had.
  public private(set) var latest: [String: (observation: ProbeObservation, at: Double, runs: Int)] = [:]
  /// Status results in a row that carried the member's status, per status target.
  var statusStreak: [String: Int] = [:]
  public private(set) var health: [Subject: HealthState] = [:]
  var lastGood: [Subject: Double] = [:]
  public private(set) var observers: [String: ClusterObserver] = [:]
  public private(set) var members: [String: [WatchMember]] = [:]
  var learnerSince: [String: [UInt64: Double]] = [:]
  public private(set) var diagnoses: [String: [Diagnosis]] = [:]
  public private(set) var findings: [String: [Finding]] = [:]
  public private(set) var book: IncidentBook
  /// Each cluster's members' backend sizes, one sample an inspection, for the capacity forecast.
  public private(set) var capacity: [String: [String: [CapacitySample]]] = [:]
  /// When Vigil began watching each cluster (the churn forecast waits for a full window).
  public private(set) var watchedSince: [String: Double] = [:]
  /// Each cluster's recent member log lines that matched a signature.
  public private(set) var logs: [String: LogBook] = [:]
  public var logThresholds = LogThresholds()
  /// Transitions into "failed" so far.
  public private(set) var failedTransitions = 0

  /// How recently a leader change counts as an election still settling.
  public var electionWindow: Double = 5

  public init(detector: DetectorSettings = DetectorSettings(), book: IncidentBook = IncidentBook()) {
    detectorSettings = detector
    self.book = book
  }

  /// Another replica guarded `cluster` until now: its open incidents (from the shared store) continue here.
  public mutating func adopt(_ incidents: [Incident]) { book.adopt(incidents) }

  /// Another replica guards `cluster` from now on: its open incidents are left to it, not closed, and what this
  /// one believed of it is forgotten (health, detectors, diagnoses, findings): stale by the time it might guard
  /// the cluster again, it would otherwise drive repairs of a cluster that has changed meanwhile.
  public mutating func letGo(cluster: String) {
    book.letGo(cluster: cluster)
    for (key, target) in targets where target.subject.cluster == cluster {
      detectors[key] = FailureDetector(settings: detectorSettings)
      latest[key] = nil
      statusStreak[key] = nil
    }
    for subject in health.keys where subject.cluster == cluster { health[subject] = nil }
    for subject in lastGood.keys where subject.cluster == cluster { lastGood[subject] = nil }
    diagnoses[cluster] = nil
    findings[cluster] = nil
    logs[cluster] = nil
    capacity[cluster] = nil
    watchedSince[cluster] = nil
    observers[cluster] = ClusterObserver()
  }

  // MARK: what is watched

  /// Starts watching a cluster (its observer exists before any member is listed).
  public mutating func add(cluster: String) {
    if observers[cluster] == nil { observers[cluster] = ClusterObserver() }
  }

  public mutating func add(_ target: WatchTarget) {
    targets[target.key] = target
    detectors[target.key] = FailureDetector(settings: detectorSettings)
    latest[target.key] = nil
    statusStreak[target.key] = nil
  }

  public mutating func remove(target key: String) {
    targets[key] = nil
    detectors[key] = nil
    latest[key] = nil
    statusStreak[key] = nil
  }

  public func health(of subject: Subject) -> HealthState { health[subject, default: .unknown] }

  public func openIncidents(cluster: String) -> [Incident] {
    book.open.values.filter { $0.cluster == cluster }.sorted { $0.openedAt < $1.openedAt }
  }

  // MARK: a probe result

  /// Takes in one result of target `key`.
  public mutating func observe(_ r: WatchResult, of key: String, at: Double) -> [WatchDirective] {
    guard let target = targets[key], var detector = detectors[key] else { return [] }
    let subject = target.subject
    let cluster = subject.cluster
    var out: [WatchDirective] = []
    let o = r.observation
    latest[key] = (o, at, (latest[key]?.runs ?? 0) + 1)
    if target.role == .status {
      statusStreak[key] = r.status == nil ? 0 : statusStreak[key, default: 0] + 1
    }

    // What the result says about its member.
    if let member = subject.member {
      if let st = r.status {
        // Answered (even with a problem such as no leader or an alarm): its status tells identity, leader, index.
        let events =
          observers[cluster]?.status(
            name: member, memberID: st.memberID, clusterID: st.clusterID, leader: st.leader, raftIndex: st.raftIndex,
            alarms: st.alarms, at: at) ?? []
        for e in events {
          out.append(.noticed(cluster: cluster, e))
          if case .leaderChanged = e { out.append(.probeNow(cluster: cluster, reason: "leader change")) }
        }
      } else if !o.succeeded {
        let kind: ProbeFailureKind = r.reach == .refused ? .refused : (o.failure ?? .other)
        observers[cluster]?.failed(name: member, kind: kind, tcpReachable: r.reach.tcpReachable, at: at)
        if let lost = r.dataDirLost { observers[cluster]?.update(name: member) { $0.dataDirLost = lost } }
      }
    }

    let decided = detector.observe(o)
    detectors[key] = detector
    if let member = subject.member, target.role == .writes {
      let slow = o.succeeded && detector.consecutiveBad > 0
      observers[cluster]?.update(name: member) { $0.slowWrites = slow }
    }
    if detector.state == .healthy { lastGood[subject] = at }
    for d in decided {
      switch d {
      case .confirm: out.append(.confirm)
      case .transition: out += subjectChanged(subject, at: at, cause: target.probe)
      }
    }
    if !o.succeeded, let change = book.probeFailed(subject: subject.key, text: "\(target.probe): \(o.detail)", at: at) {
      out.append(incident(change))
    }
    if health(of: subject) != .healthy || !o.succeeded { out += diagnose(cluster, at: at) }
    return out
  }

  /// Recomputes a subject's health from its targets' detectors; a change is a transition.
  mutating func subjectChanged(_ subject: Subject, at: Double, cause: String) -> [WatchDirective] {
    let mine = targets.values.filter { $0.subject == subject }.sorted { $0.key < $1.key }
    let next = Self.combine(mine.compactMap { detectors[$0.key]?.state })
    let previous = health(of: subject)
    guard next != previous else { return [] }
    health[subject] = next
    if next == .failed { failedTransitions += 1 }
    let evidence = mine.compactMap { t -> String? in
      guard let d = detectors[t.key], d.state != .healthy, let last = latest[t.key] else { return nil }
      return "\(t.probe) \(d.state.rawValue): \(last.observation.detail)"
    }
    let transition = HealthTransition(from: previous, to: next, evidence: evidence.isEmpty ? ["\(cause) recovered"] : evidence)
    var out: [WatchDirective] = [.healthChanged(subject, transition, at: at)]
    if let change = book.transition(
      cluster: subject.cluster, subject: subject.key, member: subject.member, transition, at: at,
      lastGoodAt: lastGood[subject])
    {
      if let detected = change.incident.detectedAt, next == .failed, detected == at {
        out.append(.detected(cluster: subject.cluster, after: detected - change.incident.onsetAt))
      }
      out.append(incident(change))
    }
    return out
  }

  /// failed > suspect > healthy; unknown only when nothing else is known.
  public static func combine(_ states: [HealthState]) -> HealthState {
    if states.contains(.failed) { return .failed }
    if states.contains(.suspect) { return .suspect }
    if states.contains(.healthy) { return .healthy }
    return .unknown
  }

  func incident(_ change: IncidentChange) -> WatchDirective {
    let cluster = change.incident.cluster
    return .incident(change, openInCluster: book.open.values.filter { $0.cluster == cluster }.count)
  }

  // MARK: diagnosis

  /// Names the cluster's faults from what its members showed; a new name goes into the subject's incident.
  mutating func diagnose(_ cluster: String, at: Double) -> [WatchDirective] {
    guard let observer = observers[cluster] else { return [] }
    let listed = members[cluster] ?? []
    // Electing (some member answers with no leader) or elected moments ago.
    let electing =
      (observer.leaderChanges.last.map { at - $0 < electionWindow } ?? false)
      || observer.members.values.contains { $0.hasLeader == false && $0.lastFailure == nil }
    let signals = listed.map { m in
      let subject = Subject.member(m.name, of: cluster)
      var s = observer.signals(name: m.name, health: health(of: subject), now: at)
      s.statusProbe = statusEvidence(subject)
      s.electionUnderway = electing
      if let log = logs[cluster] {
        s.logSlowDisk = log.evidence(member: m.name, signal: .slowDisk, now: at)
        s.logNoSpace = log.evidence(member: m.name, signal: .noSpace, now: at)
        s.logSlowDiskOccurrences = log.thresholds.slowDiskOccurrences
        var lost = log.peersLost(peerID: String(m.id, radix: 16), now: at)
        lost[m.name] = nil
        s.logPeersLost = lost
      }
      return s
    }
    let found = Diagnoser.diagnose(cluster: signals)
    diagnoses[cluster] = found
    var out: [WatchDirective] = []
    for d in found {
      let subject = Subject(cluster: cluster, member: d.member)
      if let change = book.diagnosed(subject: subject.key, d, at: at) { out.append(incident(change)) }
    }
    // NOSPACE is one alarm for the whole cluster (every member refuses writes): its incident names it too.
    if let d = found.first(where: { $0.fault == .noSpace }),
      let change = book.diagnosed(subject: cluster, Diagnosis(fault: .noSpace, member: nil, reason: d.reason), at: at)
    {
      out.append(incident(change))
    }
    return out
  }

  /// Whether a member's status answered while a request through it was failing: a hung process answers
  /// nothing, a member cut off from a quorum still answers its status. Nil while nothing fails.
  func statusEvidence(_ subject: Subject) -> StatusEvidence? {
    let mine = targets.values.filter { $0.subject == subject }
    guard let status = mine.first(where: { $0.role == .status }), let statusResult = latest[status.key] else {
      return nil
    }
    // Its failing requests: write round trips, and the status probe's own raft request (the alarm list).
    let failingSince = mine.filter { $0.role == .writes || $0.role == .status }
      .compactMap { latest[$0.key] }.filter { !$0.observation.succeeded }
      .map { $0.at - $0.observation.latency.seconds }.max()
    guard let since = failingSince else { return nil }
    // Two answers in a row, the last one after that request began: a status answered just before a freeze
    // does not count.
    let streak = statusStreak[status.key, default: 0]
    if streak >= 2 && statusResult.at > since { return .answers }
    if streak == 0 && statusResult.at > since { return .silent }
    return .undecided
  }

  // MARK: membership

  /// What changed when the member list was read.
  public struct MembershipChange: Sendable, Hashable {
    public var joined: [WatchMember]
    public var left: [WatchMember]
    /// Members listed before and now whose role changed (a learner promoted).
    public var changedRole: [WatchMember]
    public var directives: [WatchDirective]
  }

  /// A fresh member list of `cluster`; nil when it is what was known. A member that left takes its health,
  /// diagnoses and incident with it (the planner must not repair a member that no longer exists).
  public mutating func listed(_ listed: [WatchMember], cluster: String, at: Double) -> MembershipChange? {
    let listed = listed.sorted { $0.name < $1.name }
    let before = members[cluster] ?? []
    guard listed != before else { return nil }
    members[cluster] = listed
    add(cluster: cluster)
    var since = learnerSince[cluster] ?? [:]
    for m in listed {
      observers[cluster]?.listed(name: m.name, id: m.id, isLearner: m.isLearner)
      if m.isLearner { since[m.id] = since[m.id] ?? at } else { since[m.id] = nil }
    }
    learnerSince[cluster] = since.filter { id, _ in listed.contains { $0.id == id } }
    let left = before.filter { old in !listed.contains { $0.name == old.name } }
    let joined = listed.filter { new in !before.contains { $0.name == new.name } }
    let changedRole = listed.filter { new in before.contains { $0.name == new.name && $0 != new } }
    var out: [WatchDirective] = []
    let leftNames = Set(left.map(\.name))
    diagnoses[cluster]?.removeAll { $0.member.map(leftNames.contains) ?? false }
    for m in left {
      observers[cluster]?.forget(name: m.name)
      let subject = Subject.member(m.name, of: cluster)
      health[subject] = nil
      lastGood[subject] = nil
      if let change = book.retire(subject: subject.key, reason: "member \(m.name) left the cluster", at: at) {
        out.append(incident(change))
      }
    }
    if !before.isEmpty { out.append(.probeNow(cluster: cluster, reason: "membership change")) }
    return MembershipChange(joined: joined, left: left, changedRole: changedRole, directives: out)
  }

  /// `cluster` was restored into a new cluster from a backup: its members come back with new member ids and a
  /// new cluster id, which must not read as lost identities. What was known of them is forgotten; the next
  /// member list and status samples start afresh.
  public mutating func rebuilt(cluster: String) {
    guard observers[cluster] != nil else { return }
    observers[cluster] = ClusterObserver()
    members[cluster] = []
    learnerSince[cluster] = [:]
    diagnoses[cluster] = []
  }

  /// How long each learner of `cluster` has been one.
  public func learnerAge(cluster: String, at: Double) -> [UInt64: Duration] {
    (learnerSince[cluster] ?? [:]).mapValues { Duration.seconds(at - $0) }
  }

  /// Leader changes of `cluster` in the hour before `at`.
  public mutating func leaderChanges(cluster: String, lastHourBefore at: Double) -> Int {
    observers[cluster]?.leaderChanges(lastHourBefore: at) ?? 0
  }

  /// The leader `cluster` was last seen with (0: none known).
  public func leader(cluster: String) -> UInt64 { observers[cluster]?.leader ?? 0 }

  // MARK: inspections

  /// The directed inspections' findings for `cluster`: hash mismatches and alarms feed the diagnosis.
  public mutating func inspected(
    cluster: String, findings found: [Finding], alarms: [String: Set<String>], at: Double
  ) -> [WatchDirective] {
    findings[cluster] = found
    let mismatched = Set(found.filter { $0.check == "hash-mismatch" }.compactMap(\.member))
    for m in members[cluster] ?? [] {
      observers[cluster]?.update(name: m.name) { $0.hashMismatch = mismatched.contains(m.name) }
    }
    for (name, raised) in alarms where !raised.isEmpty { observers[cluster]?.update(name: name) { $0.alarms = raised } }
    // Diagnosed again when something was found, or to drop what an earlier inspection made it name.
    return found.isEmpty && (diagnoses[cluster] ?? []).isEmpty ? [] : diagnose(cluster, at: at)
  }

  // MARK: trends

  /// An inspection's readings of the members' backend sizes; samples older than `keep` seconds go.
  public mutating func sampled(cluster: String, _ samples: [String: CapacitySample], at: Double, keep: Double) {
    if watchedSince[cluster] == nil { watchedSince[cluster] = at }
    var series = capacity[cluster] ?? [:]
    for (member, sample) in samples { series[member, default: []].append(sample) }
    for (member, list) in series {
      var kept = list.filter { $0.at > at - keep }
      if kept.count > Self.capacitySamples { kept.removeFirst(kept.count - Self.capacitySamples) }
      series[member] = kept.isEmpty ? nil : kept
    }
    capacity[cluster] = series
  }

  /// Most samples kept a member (one an inspection: 4 h at the default 30 s is 480).
  public static let capacitySamples = 2000

  /// The forecasts from what has been sampled: each member's course to the quota, and leader churn over the window.
  public func forecasts(cluster: String, quota: Int64, at: Double, settings: ForecastSettings, churnPerHour: Int)
    -> [Finding]
  {
    var out: [Finding] = []
    for (member, samples) in (capacity[cluster] ?? [:]).sorted(by: { $0.key < $1.key }) {
      if let f = CapacityForecast.finding(
        cluster: cluster, member: member, samples: samples, quota: quota, now: at, settings: settings)
      {
        out.append(f)
      }
    }
    if let since = watchedSince[cluster], let observer = observers[cluster],
      let f = CapacityForecast.leaderChurn(
        cluster: cluster, changes: observer.leaderChanges, watchedSince: since, now: at, window: settings.window,
        perHour: churnPerHour)
    {
      out.append(f)
    }
    return out
  }

  // MARK: logs

  /// Lines read from the members' logs that matched a signature: kept as evidence, and the cluster diagnosed
  /// again with them.
  public mutating func logged(cluster: String, _ matches: [LogMatch], at: Double) -> [WatchDirective] {
    var log = logs[cluster] ?? LogBook(thresholds: logThresholds)
    log.add(matches, now: at)
    logs[cluster] = log
    return matches.isEmpty ? [] : diagnose(cluster, at: at)
  }

  /// Findings from the members' logs alone (slow disk, NOSPACE, leader churn), for the inspection to report.
  public func logFindings(cluster: String, at: Double) -> [Finding] {
    logs[cluster]?.findings(cluster: cluster, now: at) ?? []
  }

  // MARK: repairs

  /// A repair event for incident `id`; nil when that incident is not open (the shell stores it directly).
  public mutating func repaired(incident id: Int64, text: String, at: Double, recovered: Bool) -> WatchDirective? {
    book.repaired(incident: id, text: text, at: at, recovered: recovered).map(incident)
  }
}
