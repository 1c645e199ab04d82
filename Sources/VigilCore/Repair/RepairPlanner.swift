/// One member as the detector sees it, for planning.
public struct MemberHealthView: Sendable, Hashable {
  public var name: String
  public var isLearner: Bool
  public var health: HealthState
  public var isLeader: Bool
  /// Where it lives, as last listed (a restore needs every member's URLs when none answers).
  public var peerURL: String?
  public var clientURL: String?

  public init(
    name: String, isLearner: Bool = false, health: HealthState, isLeader: Bool = false, peerURL: String? = nil,
    clientURL: String? = nil
  ) {
    self.name = name
    self.isLearner = isLearner
    self.health = health
    self.isLeader = isLeader
    self.peerURL = peerURL
    self.clientURL = clientURL
  }
}

/// One cluster as the planner sees it at an instant.
public struct ClusterRepairView: Sendable, Hashable {
  public var cluster: String
  public var tier: String
  public var mode: RepairMode
  public var members: [MemberHealthView]
  public var diagnoses: [Diagnosis]
  /// The fragmentation inspection (or the quota forecast) found something.
  public var fragmented: Bool
  /// Why a defragment is wanted, when not the fragmentation finding.
  public var defragmentReason: String?
  /// Why the certificates should be rotated now (a certificate finding, and a command that issues new ones).
  public var rotateCertificates: String?
  /// Open incident ids by subject (`cluster` or `cluster/member`).
  public var incidents: [String: Int64]
  /// A plan is running or waiting for approval.
  public var busy: Bool
  /// The standby this cluster can fail over to: set when it is its pair's active side and the mirror runs.
  public var failoverTo: String?

  public init(
    cluster: String, tier: String, mode: RepairMode, members: [MemberHealthView], diagnoses: [Diagnosis],
    fragmented: Bool = false, incidents: [String: Int64] = [:], busy: Bool = false
  ) {
    self.cluster = cluster
    self.tier = tier
    self.mode = mode
    self.members = members
    self.diagnoses = diagnoses
    self.fragmented = fragmented
    self.incidents = incidents
    self.busy = busy
  }

  var failedMembers: [MemberHealthView] { members.filter { $0.health == .failed } }
}

/// What the planner wants done.
public enum RepairDecision: Sendable, Hashable {
  /// Make (and, by the cluster's mode, run) a plan.
  case plan(RepairRequest)
  /// Automatic repair will not act; a person must. Recorded once per episode.
  case escalate(cluster: String, subject: String, reason: String, incidentID: Int64?)
  /// A guard refused for now (it may pass later). Recorded once per reason.
  case refuse(cluster: String, subject: String, reason: String, incidentID: Int64?)
}

/// A plan to be made.
public struct RepairRequest: Sendable, Hashable {
  public var cluster: String
  public var member: String?
  public var runbook: Runbook
  public var fault: Fault?
  public var reason: String
  public var incidentID: Int64?
  public var attempt: Int
  /// The planner's key for this fault episode (hand it back in ``RepairPlanner/finished(_:succeeded:at:)``).
  public var key: String
  /// The plan waits for a person even where the cluster's mode is `auto` (a restore under `approve` policy).
  public var requiresApproval = false
  /// The members a cluster-wide runbook acts on (restart-members, restore-cluster).
  public var members: [String] = []
  /// When the fault was first seen (seconds since 1970).
  public var since: Double?
}

/// Decides which repairs to make, when, and when to stop and call a person.
/// Pure and clock-injected: the coordinator feeds it views and reports
/// outcomes; it keeps grace periods, retries with backoff, the rate limit and
/// the storm brake.
public struct RepairPlanner: Sendable {
  public var settings: RepairSettings
  /// When each fault episode was first seen.
  var firstSeen: [String: Double] = [:]
  /// Failed attempts of each episode and when the last one ended.
  var failures: [String: (count: Int, lastEnded: Double)] = [:]
  /// Episodes handed to a person (escalated, rejected, or proposed in dry-run): not planned again.
  var handedOff: Set<String> = []
  /// Refusals already reported, by episode (reported again only when the reason changes).
  var reported: [String: String] = [:]
  /// When each episode's last repair succeeded (it settles before it is planned again).
  var succeeded: [String: Double] = [:]
  /// When repairs started, per cluster (for the rate limit).
  var started: [String: [Double]] = [:]
  /// When each cluster was last defragmented (or first seen), for the schedule.
  var lastDefragment: [String: Double] = [:]
  /// Clusters defragmented since start.
  var defragmented: Set<String> = []
  /// When each cluster's certificates were last rotated by the planner.
  var lastRotation: [String: Double] = [:]
  /// Since when each member (`cluster/member`) has been failed, while it is.
  var failedSince: [String: Double] = [:]

  public init(settings: RepairSettings = RepairSettings()) { self.settings = settings }

  /// The decisions for this instant, at most one plan per cluster.
  public mutating func decide(_ fleet: [ClusterRepairView], now: Double) -> [RepairDecision] {
    var out: [RepairDecision] = []
    // For the fleet, a cluster counts once any member left healthy (suspect too): clusters hit by one
    // network fault are noticed a probe or two apart, and the brake must not let the first one through.
    let failing = fleet.filter { v in
      v.members.contains { $0.health == .failed || $0.health == .suspect } || v.diagnoses.contains { $0.fault == .quorumLost }
    }
    let fleetStorm =
      fleet.count >= settings.stormMinClusters
      && Double(failing.count) / Double(fleet.count) > settings.stormFleetShare
    var live: Set<String> = []
    var failedNow = Set<String>()
    for view in fleet {
      let episodes = episodes(of: view)
      for e in episodes { live.insert(e.key) }
      for e in episodes where firstSeen[e.key] == nil { firstSeen[e.key] = now }
      for m in view.members where m.health == .failed {
        let key = "\(view.cluster)/\(m.name)"
        failedNow.insert(key)
        if failedSince[key] == nil { failedSince[key] = now }
      }
      let majority = majorityEpisode(view, now: now)
      if let majority {
        live.insert(majority.key)
        if firstSeen[majority.key] == nil { firstSeen[majority.key] = now }
      }
      guard view.mode != .paused, !view.busy else { continue }
      if let majority, !fleetStorm || majority.runbook == .restartMembers, !handedOff.contains(majority.key) {
        if let d = decideMajority(view, majority, now: now) { out.append(d) }
        continue
      }
      if fleetStorm {
        let reason =
          "storm brake: \(failing.count) of \(fleet.count) clusters have unhealthy members at once (more than \(Int(settings.stormFleetShare * 100))%); likely the network or Vigil itself"
        out += escalateOnce(view, key: "\(view.cluster)/storm", reason: reason)
        continue
      }
      // Members that answer but refuse writes under the NOSPACE alarm are not a storm: that is one cluster-wide fault.
      // Under the alarm every member refuses writes, some before their own alarm is read: only a member with
      // a fault of its own counts then.
      let noSpace = Set(view.diagnoses.filter { $0.fault == .noSpace }.compactMap(\.member))
      let clusterNoSpace = view.diagnoses.contains { $0.fault == .noSpace }
      let failed = view.failedMembers.filter { m in
        guard !noSpace.contains(m.name) else { return false }
        return !clusterNoSpace || view.diagnoses.contains { $0.member == m.name && $0.fault != .noSpace }
      }
      if failed.count > settings.stormMaxFailedMembers {
        let reason =
          "storm brake: \(failed.count) members failed at once (\(failed.map(\.name).joined(separator: ", "))); more than \(settings.stormMaxFailedMembers) is likely the network or Vigil itself"
        out += escalateOnce(view, key: "\(view.cluster)/storm", reason: reason)
        continue
      }
      if let d = decideCluster(view, episodes: episodes, now: now) { out.append(d) }
    }
    failedSince = failedSince.filter { failedNow.contains($0.key) }
    // Episodes that ended forget their history.
    for key in Array(firstSeen.keys) where !live.contains(key) && !key.hasSuffix("/storm") {
      firstSeen[key] = nil
      failures[key] = nil
      succeeded[key] = nil
      handedOff.remove(key)
      reported[key] = nil
    }
    if !fleetStorm {
      for view in fleet where view.failedMembers.count <= settings.stormMaxFailedMembers {
        handedOff.remove("\(view.cluster)/storm")
        reported["\(view.cluster)/storm"] = nil
      }
    }
    return out
  }

  struct Episode {
    var key: String
    var diagnosis: Diagnosis
  }

  /// The faults that repairs act on: cluster-wide ones first (NOSPACE anywhere is the cluster's), then members'.
  func episodes(of view: ClusterRepairView) -> [Episode] {
    var out: [Episode] = []
    var seenNoSpace = false
    for d in view.diagnoses {
      if d.fault == .noSpace {
        if seenNoSpace { continue }
        seenNoSpace = true
        out.append(Episode(key: "\(view.cluster)//NOSPACE", diagnosis: Diagnosis(fault: .noSpace, member: nil, reason: d.reason)))
        continue
      }
      if let m = d.member, view.members.first(where: { $0.name == m })?.isLearner == true { continue }
      out.append(Episode(key: "\(view.cluster)/\(d.member ?? "")/\(d.fault.rawValue)", diagnosis: d))
    }
    return out.sorted { ($0.diagnosis.member == nil ? 0 : 1) < ($1.diagnosis.member == nil ? 0 : 1) }
  }

  mutating func decideCluster(_ view: ClusterRepairView, episodes: [Episode], now: Double) -> RepairDecision? {
    for e in episodes where !handedOff.contains(e.key) {
      let d = e.diagnosis
      let subject = Subject(cluster: view.cluster, member: d.member).key
      let incident = view.incidents[subject] ?? view.incidents[view.cluster]
      let rule = settings.policy.rule(for: d.fault, tier: view.tier)
      let since = firstSeen[e.key] ?? now
      var runbook = rule.runbook
      if let after = rule.replaceAfter, now - since >= after.seconds, d.member != nil { runbook = .replaceMember }
      guard let chosen = runbook else {
        return escalateOnce(view, key: e.key, reason: "\(d.fault.rawValue): \(d.reason); no runbook repairs this, a person must act", incident: incident).first
      }
      if chosen == .moveLeader {
        // Only a sick leader is worth moving; a slow follower is left alone.
        guard view.members.first(where: { $0.name == d.member })?.isLeader == true else { continue }
      }
      if chosen.needsMember && d.member == nil { continue }
      if now - since < rule.grace.seconds { continue }
      if let at = succeeded[e.key], now - at < settings.settleTime.seconds { continue }
      // Liveness faults act only on a confirmed failure (the detector's confirming re-probe), never on a suspicion.
      if [.crashed, .hung, .partitioned].contains(d.fault),
        view.members.first(where: { $0.name == d.member })?.health != .failed
      {
        continue
      }
      let fails = failures[e.key]
      switch retryGate(view, key: e.key, what: "\(chosen.rawValue) on \(subject)", incident: incident, now: now) {
      case .go: break
      case .wait: continue
      case .escalate(let d): return d
      }
      if chosen == .replaceMember, let refusal = quorumRefusal(view, removing: d.member) {
        return escalateOnce(view, key: e.key, reason: refusal, incident: incident).first
      }
      let recent = (started[view.cluster] ?? []).filter { now - $0 < settings.rateWindow.seconds }
      started[view.cluster] = recent
      if recent.count >= settings.maxRepairsPerWindow {
        return refuseOnce(
          view, key: e.key,
          reason: "rate limit: \(recent.count) repairs in the last \(Int(settings.rateWindow.seconds)) s (at most \(settings.maxRepairsPerWindow))",
          incident: incident)
      }
      started[view.cluster, default: []].append(now)
      if view.mode == .dryRun { handedOff.insert(e.key) }
      return .plan(
        RepairRequest(
          cluster: view.cluster, member: chosen.needsMember ? d.member : nil, runbook: chosen, fault: d.fault,
          reason: "\(d.fault.rawValue): \(d.reason)", incidentID: incident, attempt: (fails?.count ?? 0) + 1, key: e.key))
    }
    // Nothing to repair: defragment a healthy but fragmented cluster, or on schedule.
    let healthy = !view.members.isEmpty && view.members.allSatisfy { $0.health == .healthy } && episodes.isEmpty
    guard healthy else { return nil }
    // Certificates near expiry, with a command that issues new ones: rotated before they expire (at most once an
    // hour a cluster, so that a rotation that leaves the finding standing does not loop).
    if let why = view.rotateCertificates, now - (lastRotation[view.cluster] ?? -.infinity) >= 3600 {
      let key = "\(view.cluster)//rotate-certificates"
      if !handedOff.contains(key) {
        lastRotation[view.cluster] = now
        started[view.cluster, default: []].append(now)
        if view.mode == .dryRun { handedOff.insert(key) }
        return .plan(
          RepairRequest(
            cluster: view.cluster, member: nil, runbook: .rotateCertificates, fault: nil, reason: why, incidentID: nil,
            attempt: 1, key: key))
      }
    }
    if lastDefragment[view.cluster] == nil { lastDefragment[view.cluster] = now }  // the schedule starts when first seen
    let sinceLast = now - lastDefragment[view.cluster]!
    let scheduled = settings.defragmentInterval.map { sinceLast >= $0.seconds } ?? false
    // After a defragmentation, give the inspection time to see the result before acting on its finding again.
    let cooled = !defragmented.contains(view.cluster) || sinceLast >= 300
    guard scheduled || (view.fragmented && cooled) else { return nil }
    let key = "\(view.cluster)//defragment"
    if handedOff.contains(key) { return nil }
    let recent = (started[view.cluster] ?? []).filter { now - $0 < settings.rateWindow.seconds }
    if recent.count >= settings.maxRepairsPerWindow { return nil }
    started[view.cluster, default: []].append(now)
    lastDefragment[view.cluster] = now
    defragmented.insert(view.cluster)
    if view.mode == .dryRun { handedOff.insert(key) }
    return .plan(
      RepairRequest(
        cluster: view.cluster, member: nil, runbook: .defragment, fault: nil,
        reason: view.fragmented
          ? view.defragmentReason ?? "fragmentation found by inspection" : "scheduled defragmentation", incidentID: nil,
        attempt: 1, key: key))
  }

  enum RetryGate {
    case go, wait
    case escalate(RepairDecision?)
  }

  /// After failed attempts of an episode: wait out the backoff (doubling from `retryBackoff`), or escalate once
  /// `maxAttempts` failed.
  mutating func retryGate(_ view: ClusterRepairView, key: String, what: String, incident: Int64?, now: Double) -> RetryGate {
    guard let fails = failures[key] else { return .go }
    if fails.count >= settings.maxAttempts {
      return .escalate(
        escalateOnce(view, key: key, reason: "\(what) failed \(fails.count) times; escalated to a person", incident: incident).first)
    }
    let wait = settings.retryBackoff.seconds * Double(1 << min(fails.count - 1, 10))
    return now - fails.lastEnded < wait ? .wait : .go
  }

  struct MajorityEpisode {
    var key: String
    var runbook: Runbook
    var members: [String]
    var reason: String
  }

  /// A fault of several voters at once that has a safe repair despite the storm brake: a majority failed past
  /// `failoverAfter` on a cluster with a running standby is failed over to it; a majority lost for good (data
  /// gone, or failed past the grace) is restored from backup; crashed members with intact data dirs are
  /// restarted (a restart on a member's own data is not a membership change and cannot break quorum).
  func majorityEpisode(_ view: ClusterRepairView, now: Double) -> MajorityEpisode? {
    let voters = view.members.filter { !$0.isLearner }
    guard !voters.isEmpty else { return nil }
    let failed = voters.filter { $0.health == .failed }
    guard !failed.isEmpty else { return nil }
    func has(_ m: MemberHealthView, _ fault: Fault) -> Bool {
      view.diagnoses.contains { $0.member == m.name && $0.fault == fault }
    }
    let lost = failed.filter { m in
      has(m, .dataLoss) || now - (failedSince["\(view.cluster)/\(m.name)"] ?? now) >= settings.quorumLossGrace.seconds
    }
    let quorum = LiveCluster.quorum(voters.count)
    if let standby = view.failoverTo, settings.preferFailover {
      // A standby holds a copy seconds old at most: switching to it is faster than any restore.
      let gone = failed.filter { m in
        has(m, .dataLoss) || now - (failedSince["\(view.cluster)/\(m.name)"] ?? now) >= settings.failoverAfter.seconds
      }
      if voters.count - gone.count < quorum {
        let reason =
          "quorum lost: \(gone.count) of \(voters.count) voters failed for \(Int(settings.failoverAfter.seconds)) s or more (\(gone.map(\.name).joined(separator: ", "))); the standby \(standby) takes over"
        return MajorityEpisode(key: "\(view.cluster)//failover", runbook: .promoteStandby, members: voters.map(\.name), reason: reason)
      }
    }
    if !lost.isEmpty, voters.count - lost.count < quorum {
      let reason =
        "quorum lost for good: \(lost.count) of \(voters.count) voters lost (\(lost.map(\.name).joined(separator: ", "))), \(voters.count - lost.count) left, a quorum needs \(quorum)"
      return MajorityEpisode(key: "\(view.cluster)//restore", runbook: .restoreCluster, members: voters.map(\.name), reason: reason)
    }
    let crashed = failed.filter { has($0, .crashed) }
    // Crashed members whose loss leaves no quorum (the only member of a one-member cluster, too) are all
    // restarted on their data: nothing else can bring the cluster back.
    let noQuorum = voters.count - failed.count < quorum
    if crashed.count >= 2 || (!crashed.isEmpty && (failed.count > settings.stormMaxFailedMembers || noQuorum)) {
      let reason =
        "\(crashed.count) members crashed with their data intact (\(crashed.map(\.name).joined(separator: ", "))): restarting on their own data is not a membership change"
      return MajorityEpisode(
        key: "\(view.cluster)//restart-members", runbook: .restartMembers, members: crashed.map(\.name), reason: reason)
    }
    return nil
  }

  mutating func decideMajority(_ view: ClusterRepairView, _ e: MajorityEpisode, now: Double) -> RepairDecision? {
    let incident = view.incidents[view.cluster] ?? e.members.lazy.compactMap { view.incidents["\(view.cluster)/\($0)"] }.first
    if let at = succeeded[e.key], now - at < settings.settleTime.seconds { return nil }
    let fails = failures[e.key]
    switch retryGate(view, key: e.key, what: "\(e.runbook.rawValue) on \(view.cluster)", incident: incident, now: now) {
    case .go: break
    case .wait: return nil
    case .escalate(let d): return d
    }
    if view.mode == .dryRun { handedOff.insert(e.key) }
    started[view.cluster, default: []].append(now)
    let mode =
      e.runbook == .promoteStandby ? settings.failoverMode : settings.restoreModeByTier[view.tier] ?? settings.restoreMode
    let held = e.runbook == .restoreCluster || e.runbook == .promoteStandby
    return .plan(
      RepairRequest(
        cluster: view.cluster, member: nil, runbook: e.runbook, fault: held ? .quorumLost : .crashed,
        reason: e.reason, incidentID: incident, attempt: (fails?.count ?? 0) + 1, key: e.key,
        requiresApproval: held && mode != .auto, members: e.members, since: firstSeen[e.key]))
  }

  /// Why replacing `member` is unsafe now, judged by the detector's view (the executor checks the live cluster again).
  func quorumRefusal(_ view: ClusterRepairView, removing member: String?) -> String? {
    let voters = view.members.filter { !$0.isLearner }
    guard let target = voters.first(where: { $0.name == member }) else { return nil }
    // Only confirmed failures count against it here (a peer merely suspect while an election settles is
    // not); the runner checks the live cluster again before the removal itself.
    let aliveAfter = voters.filter { $0.name != target.name && $0.health != .failed }.count
    let need = LiveCluster.quorum(voters.count - 1)
    if aliveAfter < need {
      return "replacing \(target.name) would leave \(aliveAfter) working voter(s) of \(voters.count - 1); a quorum needs \(need): no membership change, a person must act"
    }
    if view.members.contains(where: \.isLearner) {
      return "a learner is already in the cluster: one membership change at a time"
    }
    return nil
  }

  mutating func escalateOnce(_ view: ClusterRepairView, key: String, reason: String, incident: Int64? = nil)
    -> [RepairDecision]
  {
    guard !handedOff.contains(key) else { return [] }
    handedOff.insert(key)
    let subject = key.hasSuffix("/storm") ? view.cluster : subjectOf(key, view)
    return [.escalate(cluster: view.cluster, subject: subject, reason: reason, incidentID: incident ?? view.incidents[view.cluster])]
  }

  mutating func refuseOnce(_ view: ClusterRepairView, key: String, reason: String, incident: Int64?) -> RepairDecision? {
    guard reported[key] != reason else { return nil }
    reported[key] = reason
    return .refuse(cluster: view.cluster, subject: subjectOf(key, view), reason: reason, incidentID: incident)
  }

  func subjectOf(_ key: String, _ view: ClusterRepairView) -> String {
    // Planner keys are `cluster/member/fault` (member empty for the cluster) or `cluster/storm`.
    let parts = key.split(separator: "/", omittingEmptySubsequences: false)
    let member = parts.count >= 3 && !parts[1].isEmpty ? String(parts[1]) : nil
    return Subject(cluster: view.cluster, member: member).key
  }

  /// A plan made for `key` ended.
  public mutating func finished(_ key: String, succeeded: Bool, at now: Double) {
    if succeeded {
      failures[key] = nil
      self.succeeded[key] = now
    } else {
      failures[key] = ((failures[key]?.count ?? 0) + 1, now)
    }
  }

  /// A person rejected the plan for `key`: it is not proposed again in this episode.
  public mutating func rejected(_ key: String) { handedOff.insert(key) }

  /// A person resumed automatic repair: escalated episodes may be planned again.
  public mutating func resume(cluster: String) {
    handedOff = handedOff.filter { !$0.hasPrefix("\(cluster)/") }
    failures = failures.filter { !$0.key.hasPrefix("\(cluster)/") }
    reported = reported.filter { !$0.key.hasPrefix("\(cluster)/") }
  }

  /// Episodes escalated to a person (for status).
  public var escalated: [String] { handedOff.sorted() }
}
