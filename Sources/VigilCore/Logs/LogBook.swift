/// How much of a signal a member's log showed lately, with the lines to quote.
public struct LogEvidence: Sendable, Hashable, Codable {
  /// Matching lines in the window.
  public var lines: Int
  /// Distinct seconds they were written in (a burst from one stall counts once).
  public var occurrences: Int
  /// The newest lines, at most ``LogBook/quotes``.
  public var quotes: [String]

  public init(lines: Int, occurrences: Int, quotes: [String]) {
    self.lines = lines
    self.occurrences = occurrences
    self.quotes = quotes
  }
}

/// The thresholds that turn log lines into evidence.
public struct LogThresholds: Sendable, Hashable {
  /// How far back lines count, seconds.
  public var window: Double = 120
  /// Slow-disk lines at this many distinct seconds within the window make a slow-disk diagnosis on their own.
  public var slowDiskOccurrences = 3
  /// Leader-change lines at this many distinct seconds within the window make a leader-churn finding.
  public var leaderChangeOccurrences = 3

  public init() {}
}

/// The recent signature matches of one cluster's members: what the diagnosis and the findings quote. Pure and
/// bounded (``perMember`` matches a member, ``window`` seconds).
public struct LogBook: Sendable, Hashable {
  public var thresholds: LogThresholds
  public static let perMember = 200
  public static let quotes = 3
  public private(set) var matches: [String: [LogMatch]] = [:]

  public init(thresholds: LogThresholds = LogThresholds()) { self.thresholds = thresholds }

  public mutating func add(_ new: [LogMatch], now: Double) {
    for m in new { matches[m.member, default: []].append(m) }
    prune(now: now)
  }

  public mutating func prune(now: Double) {
    for (member, list) in matches {
      var kept = list.filter { $0.at > now - thresholds.window }
      if kept.count > Self.perMember { kept.removeFirst(kept.count - Self.perMember) }
      matches[member] = kept.isEmpty ? nil : kept
    }
  }

  /// Forgets a member (removed from the cluster) or everything (`nil`).
  public mutating func forget(member: String?) {
    if let member { matches[member] = nil } else { matches = [:] }
  }

  /// What `member`'s own log showed of `signal` in the window before `now`.
  public func evidence(member: String, signal: LogSignal, now: Double) -> LogEvidence? {
    Self.evidence(matches[member, default: []].filter { $0.signal == signal && $0.at > now - thresholds.window })
  }

  /// Which other members' logs lost their connection to the member with id `peerID` (hex) in the window.
  public func peersLost(peerID: String, now: Double) -> [String: LogEvidence] {
    var out: [String: LogEvidence] = [:]
    for (member, list) in matches {
      let lost = list.filter { $0.signal == .peerLost && $0.peer == peerID && $0.at > now - thresholds.window }
      if let e = Self.evidence(lost) { out[member] = e }
    }
    return out
  }

  static func evidence(_ list: [LogMatch]) -> LogEvidence? {
    guard !list.isEmpty else { return nil }
    let seconds = Set(list.map { Self.second(of: $0) })
    return LogEvidence(lines: list.count, occurrences: seconds.count, quotes: list.suffix(quotes).map(\.line))
  }

  /// The second a line was written in: zap's `"ts":"2026-12-01T10:01:40.339Z"`, capnslog's leading
  /// `2026-12-01 10:01:40.339`, else the second it was read.
  static func second(of m: LogMatch) -> String {
    let line = Substring(m.line)
    if let r = line.range(of: "\"ts\":\"") {
      let ts = line[r.upperBound...].prefix(19)
      if ts.count == 19 { return String(ts) }
    }
    let head = line.prefix(19)
    if head.count == 19, head.first?.isNumber == true, head.dropFirst(4).first == "-" { return String(head) }
    return String(Int(m.at))
  }

  /// Findings from the logs alone: each member's slow-disk and NOSPACE lines, and leader churn.
  public func findings(cluster: String, now: Double) -> [Finding] {
    var out: [Finding] = []
    for member in matches.keys.sorted() {
      if let e = evidence(member: member, signal: .slowDisk, now: now), e.occurrences >= thresholds.slowDiskOccurrences {
        out.append(
          Finding(
            check: "log-slow-disk", cluster: cluster, member: member, severity: .warning,
            summary: "\(member)'s log shows slow-disk warnings at \(e.occurrences) moments in the last \(Int(thresholds.window)) s",
            evidence: e.quotes, action: "check the member's disk (fdatasync latency); move leadership off it"))
      }
      if let e = evidence(member: member, signal: .noSpace, now: now) {
        out.append(
          Finding(
            check: "log-nospace", cluster: cluster, member: member, severity: .critical,
            summary: "\(member)'s log shows the backend quota exhausted (\(e.lines) line(s))", evidence: e.quotes,
            action: "compact, defragment every member, then disarm the alarm (clear-nospace)"))
      }
    }
    // Leader churn: the cluster's elections as its members logged them (each election is logged by every member
    // in the same second, so distinct seconds count elections).
    let changes = matches.values.flatMap { $0.filter { $0.signal == .leaderChange && $0.at > now - thresholds.window } }
      .sorted { $0.at < $1.at }
    if let e = Self.evidence(changes), e.occurrences >= thresholds.leaderChangeOccurrences {
      out.append(
        Finding(
          check: "log-leader-churn", cluster: cluster, severity: .warning,
          summary: "leader changed at \(e.occurrences) moments in the last \(Int(thresholds.window)) s (members' logs)",
          evidence: e.quotes, action: "look for slow disks or an overloaded network (etcd heartbeat/election settings)"))
    }
    return out
  }
}
