/// A named fault.
public enum Fault: String, Sendable, Hashable, Codable, CaseIterable, CodingKeyRepresentable {
  /// The process is gone: connections are refused.
  case crashed
  /// The process accepts connections but answers nothing (e.g. SIGSTOP, deadlock).
  case hung
  /// Alive, but cut from its peers (or from Vigil): no leader, raft index stalled, or unreachable by timeout.
  case partitioned
  /// Answers, but its writes are slow (fsync): latency far above its baseline.
  case slowDisk = "slow disk"
  /// The NOSPACE alarm is raised: the cluster refuses writes.
  case noSpace = "NOSPACE"
  /// The member came back with another identity or an empty data dir.
  case dataLoss = "data loss"
  /// CORRUPT alarm, or its hash differs from its peers' at the same revision.
  case corruption
  /// No member knows a leader.
  case noLeader = "no leader"
  /// Fewer healthy voters than a quorum.
  case quorumLost = "quorum lost"
}

/// What the probes and inspections say about one member, distilled.
public struct MemberSignals: Sendable, Hashable {
  public var name: String
  public var health: HealthState
  /// How its latest failed probe failed, if it failed.
  public var lastFailure: ProbeFailureKind?
  /// Whether a bare TCP connect to its client port succeeds (nil: not checked).
  public var tcpReachable: Bool?
  /// Whether its status names a leader (nil: no status).
  public var hasLeader: Bool?
  /// Its raft index stopped advancing while its peers' advanced.
  public var raftIndexStalled: Bool
  /// Active alarms on it ("NOSPACE", "CORRUPT").
  public var alarms: Set<String>
  /// It answers with a member id or cluster id other than the one known.
  public var identityChanged: Bool
  /// Its HashKV differs from the majority's at the same revision.
  public var hashMismatch: Bool
  /// Writes through it are far slower than its baseline while it answers.
  public var slowWrites: Bool
  public var isLearner: Bool
  /// The runtime reports its data dir empty or missing.
  public var dataDirLost: Bool = false
  /// Its raft index went backwards under the same member id (its log was lost).
  public var raftIndexRegressed: Bool = false
  /// What its status probe showed since its requests began to fail (nil: no status probe, or nothing failing).
  public var statusProbe: StatusEvidence? = nil
  /// It was the leader the last time the cluster was seen with one.
  public var wasLeader = false
  /// The cluster's leader is in trouble (crashed, hung, cut off, restarting): this member's timeouts, missing
  /// leader and slow writes are the leader's and the election's that follows, not faults of its own.
  public var leaderInTrouble = false
  /// A TCP connect to it failed moments ago (its network path was cut and may just have come back).
  public var recentlyUnreachable = false
  /// The cluster is electing a leader or just elected one: requests time out everywhere for a moment.
  public var electionUnderway = false
  /// What its own log showed lately of a slow disk (nil: nothing, or its log is not read).
  public var logSlowDisk: LogEvidence? = nil
  /// Slow-disk lines at this many distinct moments name a slow disk on their own.
  public var logSlowDiskOccurrences = 3
  /// What its own log showed lately of an exhausted quota.
  public var logNoSpace: LogEvidence? = nil
  /// Peers whose logs lost their raft streams to it lately, by name.
  public var logPeersLost: [String: LogEvidence] = [:]

  public init(
    name: String, health: HealthState, lastFailure: ProbeFailureKind? = nil, tcpReachable: Bool? = nil,
    hasLeader: Bool? = nil, raftIndexStalled: Bool = false, alarms: Set<String> = [], identityChanged: Bool = false,
    hashMismatch: Bool = false, slowWrites: Bool = false, isLearner: Bool = false
  ) {
    self.name = name
    self.health = health
    self.lastFailure = lastFailure
    self.tcpReachable = tcpReachable
    self.hasLeader = hasLeader
    self.raftIndexStalled = raftIndexStalled
    self.alarms = alarms
    self.identityChanged = identityChanged
    self.hashMismatch = hashMismatch
    self.slowWrites = slowWrites
    self.isLearner = isLearner
  }
}

/// What a member's status probe showed since its requests began to fail: a hung process answers nothing, a
/// member cut off from a quorum still answers its status.
public enum StatusEvidence: Sendable, Hashable {
  /// It answered twice in a row, the last time after the failing request began.
  case answers
  /// It failed too (no status) after the failing request began.
  case silent
  /// Neither yet: hung or cut off is not known.
  case undecided
}

/// A fault, where it is, and why Vigil thinks so.
public struct Diagnosis: Sendable, Hashable, Codable {
  public var fault: Fault
  /// The member, or nil for a cluster-wide fault.
  public var member: String?
  public var reason: String
  /// Log lines that support it (the newest few of each log that does).
  public var evidence: [String]

  public init(fault: Fault, member: String?, reason: String, evidence: [String] = []) {
    self.fault = fault
    self.member = member
    self.reason = reason
    self.evidence = evidence
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    fault = try c.decode(Fault.self, forKey: .fault)
    member = try c.decodeIfPresent(String.self, forKey: .member)
    reason = try c.decode(String.self, forKey: .reason)
    evidence = try c.decodeIfPresent([String].self, forKey: .evidence) ?? []
  }
}

/// Names faults from signals. Pure; the order of the rules is the order of
/// precedence (identity and data problems outrank liveness ones).
public enum Diagnoser {
  /// The fault of one member, or nil when its signals show none; with what the logs say of it.
  public static func diagnose(_ m: MemberSignals) -> Diagnosis? {
    guard var d = named(m) else { return nil }
    switch d.fault {
    case .crashed, .hung, .partitioned:
      guard !m.logPeersLost.isEmpty else { break }
      let peers = m.logPeersLost.keys.sorted()
      d.reason += "; the logs of \(peers.joined(separator: ", ")) lost their raft streams to it"
      d.evidence += peers.compactMap { m.logPeersLost[$0]?.quotes.last }
    case .slowDisk:
      if let e = m.logSlowDisk {
        if m.slowWrites { d.reason += "; its log agrees (\(e.lines) slow-disk line(s))" }
        d.evidence += e.quotes
      }
    case .noSpace:
      d.evidence += m.logNoSpace?.quotes ?? []
    default:
      break
    }
    return d
  }

  static func named(_ m: MemberSignals) -> Diagnosis? {
    if m.identityChanged {
      return Diagnosis(fault: .dataLoss, member: m.name, reason: "answers with a different member or cluster id")
    }
    if m.dataDirLost {
      return Diagnosis(fault: .dataLoss, member: m.name, reason: "its data dir is empty or missing")
    }
    if m.raftIndexRegressed {
      return Diagnosis(fault: .dataLoss, member: m.name, reason: "its raft index went backwards: its log was lost")
    }
    if m.alarms.contains("CORRUPT") {
      return Diagnosis(fault: .corruption, member: m.name, reason: "CORRUPT alarm raised")
    }
    if m.hashMismatch {
      return Diagnosis(fault: .corruption, member: m.name, reason: "HashKV differs from its peers at the same revision")
    }
    if m.alarms.contains("NOSPACE") {
      return Diagnosis(fault: .noSpace, member: m.name, reason: "NOSPACE alarm raised: writes are refused")
    }
    if m.health == .failed || m.health == .suspect, m.lastFailure == .refused {
      return Diagnosis(fault: .crashed, member: m.name, reason: "connection refused: nothing listens on its client port")
    }
    if m.leaderInTrouble { return nil }
    if m.health == .failed || m.health == .suspect {
      switch m.lastFailure {
      case .timeout?, .interrupted?:
        if m.tcpReachable == true {
          if m.hasLeader == false || m.raftIndexStalled {
            return Diagnosis(fault: .partitioned, member: m.name, reason: "answers Vigil but has no leader or a stalled raft index")
          }
          if m.recentlyUnreachable {
            return Diagnosis(
              fault: .partitioned, member: m.name,
              reason: "reachable again after being cut off; its connections are still recovering")
          }
          if m.statusProbe == .answers {
            // A hung process answers nothing; this one answers its status, but requests through it time out.
            return Diagnosis(
              fault: .partitioned, member: m.name,
              reason: "answers its status but its requests time out: it cannot reach a quorum")
          }
          // Timeouts while the cluster elects a leader are the election's, not this member's.
          if m.electionUnderway { return nil }
          // Named once its status probe tells: a leader cut off from its peers still answers its status.
          if m.statusProbe == .undecided { return nil }
          return Diagnosis(fault: .hung, member: m.name, reason: "accepts connections but does not answer in time")
        }
        if m.tcpReachable == false {
          return Diagnosis(fault: .partitioned, member: m.name, reason: "unreachable by timeout: the network path is cut")
        }
        return Diagnosis(fault: .hung, member: m.name, reason: "no answer in time")
      default:
        break
      }
    }
    if m.hasLeader == false || m.raftIndexStalled {
      return Diagnosis(
        fault: .partitioned, member: m.name,
        reason: m.hasLeader == false ? "reports no leader" : "its raft index stalled while its peers advanced")
    }
    // Writes are slow for everyone just after an election; a slow disk shows outside one.
    if m.slowWrites && !m.electionUnderway {
      return Diagnosis(fault: .slowDisk, member: m.name, reason: "answers, but writes are far slower than its baseline")
    }
    // etcd's own warnings, repeated: slow WAL syncs, late heartbeats, slow applies.
    if let e = m.logSlowDisk, e.occurrences >= m.logSlowDiskOccurrences, !m.electionUnderway {
      return Diagnosis(
        fault: .slowDisk, member: m.name, reason: "its log shows slow-disk warnings at \(e.occurrences) moments")
    }
    return nil
  }

  /// Cluster-wide faults first (quorum lost, no leader), then each member's.
  public static func diagnose(cluster members: [MemberSignals]) -> [Diagnosis] {
    var result: [Diagnosis] = []
    let voters = members.filter { !$0.isLearner }
    let healthyVoters = voters.filter { $0.health == .healthy }.count
    let quorum = voters.count / 2 + 1
    // A voter that refuses writes because of NOSPACE is alive: it counts toward the quorum.
    let downVoters = voters.filter { $0.health == .failed && !$0.alarms.contains("NOSPACE") }.count
    if !voters.isEmpty && voters.count - downVoters < quorum {
      result.append(
        Diagnosis(
          fault: .quorumLost, member: nil,
          reason: "\(downVoters) of \(voters.count) voters failed; a quorum needs \(quorum) (healthy: \(healthyVoters))"))
    } else {
      let answering = voters.filter { $0.hasLeader != nil }
      if !answering.isEmpty && answering.allSatisfy({ $0.hasLeader == false }) {
        result.append(Diagnosis(fault: .noLeader, member: nil, reason: "no answering voter knows a leader"))
      }
    }
    let clusterLeaderless = result.contains { $0.fault == .noLeader }
    // The leader is in trouble: its peers' requests time out and they elect a new one; until a new leader is
    // known, what they show is the leader's fault (named on the leader), not their own.
    let leaderInTrouble = voters.contains { $0.wasLeader && ($0.health == .failed || $0.health == .suspect) }
    for var member in members {
      if leaderInTrouble && !member.wasLeader { member.leaderInTrouble = true }
      guard let diagnosis = diagnose(member) else { continue }
      // When nobody has a leader, "no leader" on each member is the cluster's fault, not a partition.
      if clusterLeaderless && diagnosis.fault == .partitioned && member.health == .healthy { continue }
      result.append(diagnosis)
    }
    return result
  }
}
