import Testing
import VigilCore

/// Lines as Debian's etcd 3.4.23 wrote them (`--logger zap`) under the faults named, and capnslog's text forms.
enum EtcdLines {
  static let heartbeatLate =
    #"{"level":"warn","ts":"2026-12-01T10:01:40.339Z","caller":"etcdserver/raft.go:440","msg":"leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk","to":"bdae9bbc11dd390d","heartbeat-interval":"100ms","expected-duration":"200ms","exceeded-duration":"498.74313ms"}"#
  static func streamLost(local: String, remote: String, ts: String = "2026-12-01T10:01:45.859Z") -> String {
    #"{"level":"warn","ts":"\#(ts)","caller":"rafthttp/stream.go:436","msg":"lost TCP streaming connection with remote peer","stream-reader-type":"stream MsgApp v2","local-member-id":"\#(local)","remote-peer-id":"\#(remote)","error":"read tcp 127.0.0.1:47980->127.0.0.1:23801: i/o timeout"}"#
  }
  static let peerInactive =
    #"{"level":"warn","ts":"2026-12-01T10:01:45.859Z","caller":"rafthttp/peer_status.go:68","msg":"peer became inactive (message send to peer failed)","peer-id":"bdae9bbc11dd390d","error":"failed to read bdae9bbc11dd390d on stream MsgApp v2 (read tcp 127.0.0.1:47980->127.0.0.1:23801: i/o timeout)"}"#
  static func elected(ts: String) -> String {
    #"{"level":"info","ts":"\#(ts)","caller":"raft/node.go:327","msg":"raft.node: 2943212f5e2cf73 elected leader bdae9bbc11dd390d at term 3"}"#
  }
  static let established =
    #"{"level":"info","ts":"2026-12-01T10:01:48.373Z","caller":"rafthttp/stream.go:425","msg":"established TCP streaming connection with remote peer","stream-reader-type":"stream MsgApp v2","local-member-id":"2943212f5e2cf73","remote-peer-id":"bdae9bbc11dd390d"}"#
  static let capnslogSync = "2026-12-01 10:02:03.120443 W | wal: sync duration of 1.412s, expected less than 1s"
  static let capnslogStream =
    "2026-12-01 10:02:04.000000 W | rafthttp: lost the TCP streaming connection with peer 8e9e05c52164694d (stream MsgApp v2 reader)"
  static let spaceExceeded =
    #"{"level":"warn","ts":"2026-12-01T10:03:00.000Z","caller":"etcdserver/util.go:163","msg":"apply request took too long","error":"etcdserver: mvcc: database space exceeded"}"#
}

@Suite("Log signatures")
struct LogSignatureTests {
  func scan(_ lines: [String], member: String = "m1", at: Double = 100) -> [LogMatch] {
    LogScanner.scan(Substring(lines.joined(separator: "\n")), member: member, at: at, signatures: LogSignature.etcd34)
  }

  @Test func namesWhatEachKnownLineSays() {
    let found = scan([
      EtcdLines.heartbeatLate, EtcdLines.streamLost(local: "2943212f5e2cf73", remote: "bdae9bbc11dd390d"),
      EtcdLines.peerInactive, EtcdLines.elected(ts: "2026-12-01T10:01:57.184Z"), EtcdLines.established,
      EtcdLines.capnslogSync, EtcdLines.capnslogStream,
    ])
    #expect(found.map(\.signal) == [.slowDisk, .peerLost, .peerLost, .leaderChange, .slowDisk, .peerLost])
    #expect(found.map(\.signature) == [
      "heartbeat-late", "stream-lost", "peer-inactive", "leader-elected", "sync-duration", "stream-lost-text",
    ])
    // The peer a lost stream is about, in either format.
    #expect(found.filter { $0.signal == .peerLost }.map(\.peer) == ["bdae9bbc11dd390d", "bdae9bbc11dd390d", "8e9e05c52164694d"])
    #expect(found.allSatisfy { $0.member == "m1" && $0.at == 100 })
    // The first signature a line matches wins: a refused write says NOSPACE, not only "slow".
    #expect(scan([EtcdLines.spaceExceeded]).first?.signal == .slowDisk)
    #expect(LogSignature.etcd34.contains { $0.signal == .noSpace && $0.matches(Substring(EtcdLines.spaceExceeded)) })
  }

  @Test func quotesAreBoundedAndNulPaddingIsSkipped() {
    let long = EtcdLines.heartbeatLate + String(repeating: "x", count: 2000)
    let found = scan(["\0\0\0" + long, "", "\0\0", "plain text"])
    #expect(found.count == 1)
    #expect(found[0].line.count == LogScanner.quoteLimit)
    #expect(found[0].line.hasPrefix("{\"level\""))
    #expect(found[0].line.hasSuffix("…"))
  }

  @Test func aBurstFromOneStallCountsOnce() {
    var book = LogBook()
    // One stall: the leader logs a late heartbeat to each follower in the same second.
    book.add(scan([EtcdLines.heartbeatLate, EtcdLines.heartbeatLate], at: 100), now: 100)
    #expect(book.evidence(member: "m1", signal: .slowDisk, now: 100)?.lines == 2)
    #expect(book.evidence(member: "m1", signal: .slowDisk, now: 100)?.occurrences == 1)
    #expect(book.findings(cluster: "c", now: 100).isEmpty)
    // Again at two other moments: a slow disk, with the newest lines quoted.
    let later = [EtcdLines.heartbeatLate.replacingOccurrences(of: "10:01:40", with: "10:01:43"),
      EtcdLines.heartbeatLate.replacingOccurrences(of: "10:01:40", with: "10:01:47")]
    book.add(scan(later, at: 107), now: 107)
    let e = book.evidence(member: "m1", signal: .slowDisk, now: 107)
    #expect(e?.occurrences == 3)
    #expect(e?.quotes.count == LogBook.quotes)
    #expect(e?.quotes.last?.contains("10:01:47") == true)
    let findings = book.findings(cluster: "c", now: 107)
    #expect(findings.map(\.check) == ["log-slow-disk"])
    #expect(findings.first?.member == "m1")
    #expect(findings.first?.evidence.allSatisfy { $0.contains("failed to send out heartbeat on time") } == true)
    // Out of the window, it is forgotten.
    #expect(book.evidence(member: "m1", signal: .slowDisk, now: 107 + book.thresholds.window) == nil)
    book.prune(now: 300)
    #expect(book.matches.isEmpty)
  }

  @Test func peersThatLostAMemberAreNamedAndChurnIsCounted() {
    var book = LogBook()
    book.add(scan([EtcdLines.streamLost(local: "2943212f5e2cf73", remote: "bdae9bbc11dd390d")], member: "m2"), now: 100)
    book.add(scan([EtcdLines.streamLost(local: "3760a4ec3b84f7fa", remote: "bdae9bbc11dd390d")], member: "m3"), now: 100)
    book.add(scan([EtcdLines.streamLost(local: "3760a4ec3b84f7fa", remote: "2943212f5e2cf73")], member: "m3"), now: 100)
    #expect(book.peersLost(peerID: "bdae9bbc11dd390d", now: 101).keys.sorted() == ["m2", "m3"])
    #expect(book.peersLost(peerID: "2943212f5e2cf73", now: 101).keys.sorted() == ["m3"])
    #expect(book.peersLost(peerID: "bdae9bbc11dd390d", now: 500).isEmpty)
    // Three elections, each logged by every member in the same second.
    for (i, ts) in ["2026-12-01T10:01:57.184Z", "2026-12-01T10:02:30.001Z", "2026-12-01T10:03:01.500Z"].enumerated() {
      for m in ["m1", "m2", "m3"] { book.add(scan([EtcdLines.elected(ts: ts)], member: m, at: 110 + Double(i)), now: 112) }
    }
    let churn = book.findings(cluster: "c", now: 112).filter { $0.check == "log-leader-churn" }
    #expect(churn.count == 1)
    #expect(churn.first?.summary.contains("3 moments") == true)
  }

  @Test func perMemberMemoryIsBounded() {
    var book = LogBook()
    let many = (0..<(LogBook.perMember + 50)).map { _ in EtcdLines.heartbeatLate }
    book.add(scan(many), now: 100)
    #expect(book.matches["m1"]?.count == LogBook.perMember)
  }
}

@Suite("Diagnosis with log evidence")
struct LogDiagnosisTests {
  let lost = LogEvidence(lines: 2, occurrences: 1, quotes: [EtcdLines.streamLost(local: "a", remote: "b")])

  @Test func peersLogsJoinAHungMembersDiagnosis() {
    var s = MemberSignals(name: "m3", health: .failed, lastFailure: .timeout, tcpReachable: true)
    s.statusProbe = .silent
    #expect(Diagnoser.diagnose(s)?.evidence == [])
    s.logPeersLost = ["m2": lost, "m1": lost]
    let d = Diagnoser.diagnose(s)
    #expect(d?.fault == .hung)
    #expect(d?.reason.hasSuffix("the logs of m1, m2 lost their raft streams to it") == true)
    #expect(d?.evidence.count == 2)
  }

  @Test func repeatedSlowDiskLinesNameASlowDiskOutsideAnElection() {
    var s = MemberSignals(name: "m1", health: .healthy, hasLeader: true)
    s.logSlowDisk = LogEvidence(lines: 2, occurrences: 2, quotes: [EtcdLines.heartbeatLate])
    #expect(Diagnoser.diagnose(s) == nil, "two moments are below the threshold of 3")
    s.logSlowDisk?.occurrences = 3
    let d = Diagnoser.diagnose(s)
    #expect(d?.fault == .slowDisk)
    #expect(d?.reason.contains("log shows slow-disk warnings at 3 moments") == true)
    #expect(d?.evidence == [EtcdLines.heartbeatLate])
    s.electionUnderway = true
    #expect(Diagnoser.diagnose(s) == nil, "late heartbeats while a leader is elected are the election's")
    // Slow writes seen by the probes: the log agrees.
    s.electionUnderway = false
    s.slowWrites = true
    #expect(Diagnoser.diagnose(s)?.reason.contains("its log agrees (2 slow-disk line(s))") == true)
  }

  @Test func theIncidentTimelineQuotesTheLogOnceForTheSameName() {
    var book = IncidentBook()
    _ = book.transition(
      cluster: "c", subject: "c/m3", member: "m3", HealthTransition(from: .healthy, to: .failed, evidence: ["x"]), at: 1,
      lastGoodAt: 0)
    let d = Diagnosis(fault: .hung, member: "m3", reason: "r; the logs of m2 lost their raft streams to it", evidence: ["L1"])
    #expect(book.diagnosed(subject: "c/m3", d, at: 2) != nil)
    var again = d
    again.evidence = ["L2"]
    #expect(book.diagnosed(subject: "c/m3", again, at: 3) == nil, "the same name with newer lines is not a new event")
    let event = book.open["c/m3"]?.timeline.last { $0.kind == "diagnosis" }
    #expect(event?.text == "hung: r; the logs of m2 lost their raft streams to it\nlog: L1")
  }
}
