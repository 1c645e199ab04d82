import Foundation

/// How bad a finding is.
public enum Severity: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
  case info, warning, critical

  public static func < (a: Severity, b: Severity) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// One known risk a directed inspection found, with what proves it and what to do.
public struct Finding: Sendable, Hashable, Codable {
  /// Which check: `member-count`, `learner-unpromoted`, `no-leader`, `leader-changes`, `quota`,
  /// `fragmentation`, `alarm`, `hash-mismatch`, `raft-lag`, `version-skew`, `certificate`, `backup-age`,
  /// `unreachable`.
  public var check: String
  public var cluster: String
  /// The member concerned, or nil for the whole cluster.
  public var member: String?
  public var severity: Severity
  public var summary: String
  public var evidence: [String]
  public var action: String

  public init(
    check: String, cluster: String, member: String? = nil, severity: Severity, summary: String,
    evidence: [String], action: String
  ) {
    self.check = check
    self.cluster = cluster
    self.member = member
    self.severity = severity
    self.summary = summary
    self.evidence = evidence
    self.action = action
  }
}

/// A certificate Vigil can see, and when it expires.
public struct CertificateExpiry: Sendable, Hashable, Codable {
  /// `client`, `server` or `peer`.
  public var role: String
  /// Where it was read: a file path or `host:port`.
  public var source: String
  public var subject: String
  /// Seconds since 1970 when it stops being valid.
  public var notAfter: Double

  public init(role: String, source: String, subject: String, notAfter: Double) {
    self.role = role
    self.source = source
    self.subject = subject
    self.notAfter = notAfter
  }
}

/// One member as an inspection saw it.
public struct MemberSnapshot: Sendable, Hashable {
  public var name: String
  public var id: UInt64
  public var endpoint: String
  public var isLearner: Bool
  /// Nil when the member did not answer (``error`` says why).
  public var status: Status?
  public var error: String?
  /// Active alarms raised on this member.
  public var alarms: [String]
  /// HashKV at ``hashRevision``, when it could be taken.
  public var hash: UInt32?
  public var hashRevision: Int64?
  public var hashCompactRevision: Int64?
  /// How long it has been a learner, as far as Vigil has watched it.
  public var learnerFor: Duration?

  public struct Status: Sendable, Hashable {
    public var version: String
    public var dbSize: Int64
    public var dbSizeInUse: Int64
    public var leader: UInt64
    public var raftIndex: UInt64
    public var raftAppliedIndex: UInt64
    public var raftTerm: UInt64

    public init(
      version: String, dbSize: Int64, dbSizeInUse: Int64, leader: UInt64, raftIndex: UInt64,
      raftAppliedIndex: UInt64, raftTerm: UInt64
    ) {
      self.version = version
      self.dbSize = dbSize
      self.dbSizeInUse = dbSizeInUse
      self.leader = leader
      self.raftIndex = raftIndex
      self.raftAppliedIndex = raftAppliedIndex
      self.raftTerm = raftTerm
    }
  }

  public init(
    name: String, id: UInt64, endpoint: String, isLearner: Bool = false, status: Status? = nil, error: String? = nil,
    alarms: [String] = [], hash: UInt32? = nil, hashRevision: Int64? = nil, hashCompactRevision: Int64? = nil,
    learnerFor: Duration? = nil
  ) {
    self.name = name
    self.id = id
    self.endpoint = endpoint
    self.isLearner = isLearner
    self.status = status
    self.error = error
    self.alarms = alarms
    self.hash = hash
    self.hashRevision = hashRevision
    self.hashCompactRevision = hashCompactRevision
    self.learnerFor = learnerFor
  }
}

/// Everything one inspection of a cluster gathered; the shell fills it, ``Inspector`` judges it.
public struct ClusterSnapshot: Sendable, Hashable {
  public var cluster: String
  /// Voters the configuration declares (nil: not declared).
  public var declaredMembers: Int?
  public var members: [MemberSnapshot]
  /// The backend quota (`--quota-backend-bytes`).
  public var quotaBytes: Int64
  /// Leader changes Vigil saw in the last hour.
  public var leaderChangesLastHour: Int
  public var certificates: [CertificateExpiry]
  /// Seconds since 1970, "now" for certificate expiry.
  public var now: Double
  /// Age of the newest verified backup (nil: no backup source configured yet).
  public var backupAge: Duration?
  public var backupMaxAge: Duration?
  /// The standby mirror's state (nil: no standby), and the lag the tier allows.
  public var standby: StandbyStatus?
  public var standbyMaxLag: Duration?

  public init(
    cluster: String, declaredMembers: Int? = nil, members: [MemberSnapshot], quotaBytes: Int64,
    leaderChangesLastHour: Int = 0, certificates: [CertificateExpiry] = [], now: Double, backupAge: Duration? = nil,
    backupMaxAge: Duration? = nil
  ) {
    self.cluster = cluster
    self.declaredMembers = declaredMembers
    self.members = members
    self.quotaBytes = quotaBytes
    self.leaderChangesLastHour = leaderChangesLastHour
    self.certificates = certificates
    self.now = now
    self.backupAge = backupAge
    self.backupMaxAge = backupMaxAge
  }
}

/// Thresholds of the directed inspections.
public struct InspectionThresholds: Sendable, Hashable {
  public var quotaRatio = 0.8
  public var fragmentationRatio = 2.0
  /// Fragmentation below this many bytes of free pages is not worth a defragment.
  public var fragmentationMinimumBytes: Int64 = 64 << 20
  public var learnerGrace: Duration = .seconds(120)
  public var leaderChangesPerHour = 3
  public var certificateDays = 30
  public var raftLag: UInt64 = 1000

  public init() {}
}

/// Directed inspections: pure rules over a ``ClusterSnapshot``.
public enum Inspector {
  public static func inspect(_ s: ClusterSnapshot, _ t: InspectionThresholds) -> [Finding] {
    var out: [Finding] = []
    func add(
      _ check: String, _ member: String?, _ severity: Severity, _ summary: String, _ evidence: [String],
      _ action: String
    ) {
      out.append(
        Finding(
          check: check, cluster: s.cluster, member: member, severity: severity, summary: summary, evidence: evidence,
          action: action))
    }
    let voters = s.members.filter { !$0.isLearner }
    let answering = s.members.filter { $0.status != nil }

    // Membership: even voter counts tolerate no more failures than one fewer; fewer than declared is a lost member.
    if let declared = s.declaredMembers, voters.count < declared {
      add(
        "member-count", nil, .critical, "\(voters.count) voters, \(declared) declared",
        ["member list: " + s.members.map { "\($0.name)\($0.isLearner ? " (learner)" : "")" }.joined(separator: ", ")],
        "add a member (replace-member) to restore \(declared) voters")
    } else if voters.count % 2 == 0 && !voters.isEmpty {
      add(
        "member-count", nil, .warning, "\(voters.count) voters: an even count tolerates no more failures than \(voters.count - 1)",
        ["voters: " + voters.map(\.name).joined(separator: ", ")],
        "add or remove a voter to make the count odd")
    }
    for m in s.members where m.isLearner {
      if let age = m.learnerFor, age >= t.learnerGrace {
        add(
          "learner-unpromoted", m.name, .warning, "learner \(m.name) not promoted after \(Int(age.seconds)) s",
          ["learner for \(Int(age.seconds)) s, grace \(Int(t.learnerGrace.seconds)) s"]
            + (m.status.map { ["raft index \($0.raftIndex)"] } ?? []),
          "promote it once it has caught up (member promote), or remove it")
      }
    }
    for m in s.members where m.status == nil {
      add(
        "unreachable", m.name, .critical, "\(m.name) does not answer", [m.error ?? "no status"],
        "check the member's process and network")
    }

    // Leadership.
    if !answering.isEmpty && answering.allSatisfy({ $0.status!.leader == 0 }) {
      add(
        "no-leader", nil, .critical, "no member knows a leader",
        answering.map { "\($0.name): leader 0, term \($0.status!.raftTerm)" },
        "check that a quorum of voters is up and can reach each other")
    }
    if s.leaderChangesLastHour > t.leaderChangesPerHour {
      add(
        "leader-changes", nil, .warning,
        "\(s.leaderChangesLastHour) leader changes in the last hour (threshold \(t.leaderChangesPerHour))",
        ["leader changes seen by Vigil's member probes"],
        "look for slow disks or an overloaded network (etcd heartbeat/election settings)")
    }

    // Space.
    for m in answering {
      let st = m.status!
      let ratio = Double(st.dbSize) / Double(max(1, s.quotaBytes))
      if ratio >= t.quotaRatio {
        add(
          "quota", m.name, ratio >= 0.95 ? .critical : .warning,
          "DB size \(bytes(st.dbSize)) is \(Int(ratio * 100))% of the \(bytes(s.quotaBytes)) quota",
          ["dbSize \(st.dbSize), inUse \(st.dbSizeInUse), quota \(s.quotaBytes)"],
          st.dbSizeInUse < st.dbSize / 2
            ? "defragment (most of the file is free pages)" : "compact old revisions and defragment, or raise the quota")
      }
      let free = st.dbSize - st.dbSizeInUse
      if st.dbSizeInUse > 0, Double(st.dbSize) >= Double(st.dbSizeInUse) * t.fragmentationRatio,
        free >= t.fragmentationMinimumBytes
      {
        add(
          "fragmentation", m.name, .warning,
          "DB size \(bytes(st.dbSize)) is \(String(format: "%.1f", Double(st.dbSize) / Double(st.dbSizeInUse)))× its in-use size \(bytes(st.dbSizeInUse))",
          ["\(bytes(free)) of free pages"], "defragment the member")
      }
    }
    for m in s.members {
      for alarm in m.alarms {
        add(
          "alarm", m.name, .critical, "\(alarm) alarm raised on \(m.name)", ["alarm list: \(alarm) on member \(hex(m.id))"],
          alarm == "NOSPACE"
            ? "compact, defragment every member, then disarm the alarm (clear-nospace)"
            : "check the member's data (hash) and replace it if it is corrupt")
      }
    }

    // Consistency: members at the same revision (and compaction) must have the same KV hash.
    let hashed = answering.filter { $0.hash != nil && $0.hashRevision != nil }
    let byRevision = Dictionary(grouping: hashed) { "\($0.hashRevision!)/\($0.hashCompactRevision ?? 0)" }
    for (_, group) in byRevision where group.count > 1 {
      let counts = Dictionary(grouping: group, by: { $0.hash! })
      guard counts.count > 1 else { continue }
      let majority = counts.max { $0.value.count < $1.value.count }!.key
      for m in group where m.hash != majority {
        add(
          "hash-mismatch", m.name, .critical,
          "\(m.name)'s KV hash differs from its peers' at revision \(m.hashRevision!)",
          group.map { "\($0.name): hash \($0.hash!) at revision \($0.hashRevision!)" },
          "treat the member's data as corrupt: replace it (replace-member) after confirming")
      }
    }

    // Replication lag behind the most advanced member.
    if let top = answering.map({ $0.status!.raftAppliedIndex }).max() {
      for m in answering where top - m.status!.raftAppliedIndex > t.raftLag {
        add(
          "raft-lag", m.name, .warning,
          "\(m.name) applied index is \(top - m.status!.raftAppliedIndex) entries behind",
          ["applied \(m.status!.raftAppliedIndex), best \(top), threshold \(t.raftLag)"],
          "check the member's disk and network; a member far behind may need a snapshot")
      }
    }

    // Versions.
    let versions = Set(answering.map { $0.status!.version })
    if versions.count > 1 {
      add(
        "version-skew", nil, .warning, "members run different etcd versions: \(versions.sorted().joined(separator: ", "))",
        answering.map { "\($0.name): \($0.status!.version)" }, "finish the rolling upgrade (or downgrade)")
    }

    // Certificates.
    for c in s.certificates {
      let days = (c.notAfter - s.now) / 86_400
      if days < Double(t.certificateDays) {
        add(
          "certificate", nil, days < 7 ? .critical : .warning,
          days <= 0
            ? "\(c.role) certificate \(c.subject) expired \(Int(-days)) days ago"
            : "\(c.role) certificate \(c.subject) expires in \(Int(days)) days",
          ["\(c.source): notAfter \(Int(c.notAfter)) (epoch s)"], "renew and roll out the certificate")
      }
    }

    // Backups (filled by the backup engine).
    if let age = s.backupAge, let max = s.backupMaxAge, age > max {
      add(
        "backup-age", nil, .warning, "newest verified backup is \(Int(age.seconds)) s old (limit \(Int(max.seconds)) s)",
        [], "check the backup job")
    }
    if let standby = s.standby {
      if standby.phase == .refused {
        add(
          "standby-refused", nil, .critical, "standby \(standby.standby) is not mirrored: \(standby.lastError ?? "refused")", [],
          "empty the standby cluster or name another one")
      } else if let max = s.standbyMaxLag, standby.lagSeconds > max.seconds {
        add(
          "standby-lag", nil, .warning,
          "standby \(standby.standby) is \(String(format: "%.1f", standby.lagSeconds)) s and \(standby.lagRevisions) revision(s) behind (RPO \(max.seconds) s)",
          ["phase \(standby.phase.rawValue); applied revision \(standby.appliedRevision) of \(standby.primaryRevision)"]
            + (standby.lastError.map { ["last error: \($0)"] } ?? []),
          "check the link between the sites and the standby's health")
      }
    }
    return out
  }

  /// Whether a `certificate` finding is about a member's own certificate (its server or peer side, which
  /// `rotate-certificates` renews) rather than Vigil's client certificate or the CA.
  public static func isMemberCertificate(_ f: Finding) -> Bool {
    f.check == "certificate" && (f.summary.hasPrefix("server ") || f.summary.hasPrefix("peer "))
  }

  static func bytes(_ n: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024 && i < units.count - 1 {
      v /= 1024
      i += 1
    }
    return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
  }

  static func hex(_ id: UInt64) -> String { String(id, radix: 16) }
}
