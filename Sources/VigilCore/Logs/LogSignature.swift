/// What a known etcd log line says about its member.
public enum LogSignal: String, Sendable, Hashable, Codable, CaseIterable, CodingKeyRepresentable {
  /// The member's disk (or the process) is slow: slow WAL syncs, applies or heartbeats.
  case slowDisk = "slow-disk"
  /// The member lost its connection to a peer (the peer named in the line).
  case peerLost = "peer-lost"
  /// The member saw the leader change or go.
  case leaderChange = "leader-change"
  /// The backend quota is exhausted: writes are refused.
  case noSpace = "nospace"
  /// Requests through the member timed out waiting for raft.
  case requestTimeout = "request-timeout"
}

/// One known log line of etcd: every fragment in ``contains`` appears in it. Matching is plain substring search over
/// the raw line, so one signature covers both of etcd 3.4's log formats where they share the words (`--logger zap`
/// writes JSON with the message in `"msg"`; the older `capnslog` writes text).
public struct LogSignature: Sendable, Hashable, Codable {
  public var id: String
  public var signal: LogSignal
  public var contains: [String]
  /// What it means, for the README's table and a finding's summary.
  public var meaning: String

  public init(id: String, signal: LogSignal, contains: [String], meaning: String) {
    self.id = id
    self.signal = signal
    self.contains = contains
    self.meaning = meaning
  }

  public func matches(_ line: Substring) -> Bool { contains.allSatisfy { line.contains($0) } }
}

extension LogSignature {
  /// etcd 3.4's signatures (as Debian's etcd-server 3.4 writes them with either logger).
  public static let etcd34: [LogSignature] = [
    LogSignature(
      id: "slow-fdatasync", signal: .slowDisk, contains: ["slow fdatasync"],
      meaning: "a WAL fdatasync took over 1 s (zap)"),
    LogSignature(
      id: "sync-duration", signal: .slowDisk, contains: ["sync duration of", "expected less than"],
      meaning: "a WAL fsync took over 1 s (capnslog)"),
    LogSignature(
      id: "heartbeat-late", signal: .slowDisk, contains: ["failed to send out heartbeat on time"],
      meaning: "the leader sent a heartbeat over twice the heartbeat interval late: it is overloaded, usually by a slow disk"),
    LogSignature(
      id: "apply-too-long", signal: .slowDisk, contains: ["apply request took too long"],
      meaning: "applying a request took over 100 ms (zap)"),
    LogSignature(
      id: "apply-entries-too-long", signal: .slowDisk, contains: ["apply entries took too long"],
      meaning: "applying a batch of raft entries took over 100 ms"),
    LogSignature(
      id: "request-too-long", signal: .slowDisk, contains: ["took too long", "to execute"],
      meaning: "a request took over 100 ms to execute (capnslog)"),
    LogSignature(
      id: "stream-lost", signal: .peerLost, contains: ["lost TCP streaming connection with remote peer"],
      meaning: "a raft stream from a peer broke or went silent for 5 s (zap)"),
    LogSignature(
      id: "stream-lost-text", signal: .peerLost, contains: ["lost the TCP streaming connection with peer"],
      meaning: "a raft stream from a peer broke or went silent for 5 s (capnslog)"),
    LogSignature(
      id: "peer-inactive", signal: .peerLost, contains: ["became inactive"],
      meaning: "messages to a peer fail: it is marked inactive"),
    LogSignature(
      id: "leader-elected", signal: .leaderChange, contains: ["elected leader", "at term"],
      meaning: "the member learned of a newly elected leader"),
    LogSignature(
      id: "leader-changed", signal: .leaderChange, contains: ["changed leader from", "at term"],
      meaning: "the member followed a new leader"),
    LogSignature(
      id: "leader-lost", signal: .leaderChange, contains: ["lost leader", "at term"],
      meaning: "the member lost its leader and an election began"),
    LogSignature(
      id: "space-exceeded", signal: .noSpace, contains: ["database space exceeded"],
      meaning: "a write was refused: the backend quota is exhausted"),
    LogSignature(
      id: "nospace-alarm", signal: .noSpace, contains: ["alarm raised", "NOSPACE"],
      meaning: "the NOSPACE alarm was raised (zap)"),
    LogSignature(
      id: "nospace-alarm-text", signal: .noSpace, contains: ["alarm NOSPACE raised"],
      meaning: "the NOSPACE alarm was raised (capnslog)"),
    LogSignature(
      id: "request-timeout", signal: .requestTimeout, contains: ["request timed out"],
      meaning: "a request timed out waiting for raft (no quorum, or a slow one)"),
  ]
}

/// A log line that matched a signature.
public struct LogMatch: Sendable, Hashable, Codable {
  public var member: String
  public var signature: String
  public var signal: LogSignal
  /// When Vigil read it, seconds since 1970.
  public var at: Double
  /// The line, cut to ``LogScanner/quoteLimit`` characters.
  public var line: String
  /// The peer the line is about (its member id in hex), for ``LogSignal/peerLost``.
  public var peer: String?

  public init(member: String, signature: String, signal: LogSignal, at: Double, line: String, peer: String? = nil) {
    self.member = member
    self.signature = signature
    self.signal = signal
    self.at = at
    self.line = line
    self.peer = peer
  }
}

/// Matches raw log text against signatures. Pure.
public enum LogScanner {
  /// Longest quote kept of a line.
  public static let quoteLimit = 400

  /// The matches among `text`'s lines (the first signature a line matches wins).
  public static func scan(_ text: Substring, member: String, at: Double, signatures: [LogSignature]) -> [LogMatch] {
    var out: [LogMatch] = []
    for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
      // A log file truncated under a writer that keeps its offset reads back as NUL bytes first.
      let line = raw.drop { $0 == "\0" }
      guard !line.isEmpty, let s = signatures.first(where: { $0.matches(line) }) else { continue }
      out.append(
        LogMatch(
          member: member, signature: s.id, signal: s.signal, at: at, line: quote(line),
          peer: s.signal == .peerLost ? peer(in: line) : nil))
    }
    return out
  }

  static func quote(_ line: Substring) -> String {
    line.count <= quoteLimit ? String(line) : String(line.prefix(quoteLimit - 1)) + "…"
  }

  /// The peer id a peer-lost line names: zap's `"remote-peer-id":"…"` or `"peer-id":"…"`, capnslog's `peer ID`.
  static func peer(in line: Substring) -> String? {
    for key in ["\"remote-peer-id\":\"", "\"peer-id\":\""] {
      if let r = line.range(of: key) {
        let id = line[r.upperBound...].prefix { $0.isHexDigit }
        if !id.isEmpty { return String(id) }
      }
    }
    for key in ["with peer ", "peer "] {
      if let r = line.range(of: key) {
        let id = line[r.upperBound...].prefix { $0.isHexDigit }
        if id.count >= 8 { return String(id) }
      }
    }
    return nil
  }
}
