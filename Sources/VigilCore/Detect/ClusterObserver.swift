/// What Vigil has seen of one member over time, beyond its health state.
public struct MemberTrack: Sendable, Hashable {
  /// The id the member list gives this member.
  public var listedID: UInt64?
  /// The id and cluster id the member itself reported last.
  public var reportedID: UInt64?
  public var clusterID: UInt64?
  public var lastRaftIndex: UInt64?
  /// Highest raft index seen under ``reportedID``.
  public var highestRaftIndex: UInt64 = 0
  /// Status samples in a row with the same raft index.
  public var unchangedSamples = 0
  public var hasLeader: Bool?
  public var alarms: Set<String> = []
  public var lastFailure: ProbeFailureKind?
  public var tcpReachable: Bool?
  /// When a TCP connect to it last failed (seconds since 1970).
  public var lastUnreachableAt: Double?
  public var slowWrites = false
  public var hashMismatch = false
  public var dataDirLost = false
  public var identityChanged = false
  public var raftIndexRegressed = false
  public var isLearner = false

  public init() {}
}

/// Something the observer noticed that should trigger probes or be recorded.
public enum ObserverEvent: Sendable, Hashable {
  case leaderChanged(from: UInt64, to: UInt64)
  case identityChanged(member: String, detail: String)
  case raftIndexRegressed(member: String, from: UInt64, to: UInt64)
}

/// Per-cluster memory of member status samples: leader changes, raft index
/// stalls and regressions, identity changes. Pure; times are arguments.
public struct ClusterObserver: Sendable {
  public private(set) var members: [String: MemberTrack] = [:]
  public private(set) var leader: UInt64 = 0
  /// Leader changes, newest last (seconds since 1970).
  public private(set) var leaderChanges: [Double] = []
  /// Samples with an unchanged raft index (while a peer's moved) that count as a stall.
  public var stallSamples = 5

  public init() {}

  public mutating func listed(name: String, id: UInt64, isLearner: Bool) {
    members[name, default: MemberTrack()].listedID = id
    members[name, default: MemberTrack()].isLearner = isLearner
  }

  public mutating func forget(name: String) { members[name] = nil }

  /// A member answered its status.
  public mutating func status(
    name: String, memberID: UInt64, clusterID: UInt64, leader: UInt64, raftIndex: UInt64, alarms: Set<String>,
    at: Double
  ) -> [ObserverEvent] {
    var events: [ObserverEvent] = []
    var t = members[name, default: MemberTrack()]
    if let listed = t.listedID, listed != memberID {
      if !t.identityChanged {
        events.append(
          .identityChanged(
            member: name,
            detail: "reports member id \(String(memberID, radix: 16)), the member list says \(String(listed, radix: 16))"))
      }
      t.identityChanged = true
    } else if let known = t.clusterID, known != clusterID {
      if !t.identityChanged {
        events.append(
          .identityChanged(
            member: name, detail: "reports cluster id \(String(clusterID, radix: 16)), was \(String(known, radix: 16))"))
      }
      t.identityChanged = true
    } else {
      t.identityChanged = false
    }
    if t.reportedID != memberID {
      t.reportedID = memberID
      t.highestRaftIndex = 0
      t.raftIndexRegressed = false
    }
    if t.clusterID == nil { t.clusterID = clusterID }
    if raftIndex < t.highestRaftIndex {
      if !t.raftIndexRegressed { events.append(.raftIndexRegressed(member: name, from: t.highestRaftIndex, to: raftIndex)) }
      t.raftIndexRegressed = true
    } else if raftIndex > t.highestRaftIndex {
      t.highestRaftIndex = raftIndex
      // A regressed member that caught up past its old index still lost its log once; keep the flag until
      // it is replaced (a new member id resets it).
    }
    t.unchangedSamples = t.lastRaftIndex == raftIndex ? t.unchangedSamples + 1 : 0
    t.lastRaftIndex = raftIndex
    t.hasLeader = leader != 0
    t.alarms = alarms
    t.lastFailure = nil
    t.tcpReachable = true
    t.dataDirLost = false
    members[name] = t
    if leader != 0 && leader != self.leader {
      if self.leader != 0 {
        events.append(.leaderChanged(from: self.leader, to: leader))
        leaderChanges.append(at)
      }
      self.leader = leader
    }
    return events
  }

  /// A probe of the member failed.
  public mutating func failed(name: String, kind: ProbeFailureKind, tcpReachable: Bool?, at: Double? = nil) {
    members[name, default: MemberTrack()].lastFailure = kind
    if let tcpReachable { members[name, default: MemberTrack()].tcpReachable = tcpReachable }
    if tcpReachable == false, let at { members[name, default: MemberTrack()].lastUnreachableAt = at }
  }

  public mutating func update(name: String, _ change: (inout MemberTrack) -> Void) {
    change(&members[name, default: MemberTrack()])
  }

  /// How long leader changes are remembered (the churn forecast's window may be longer than the hour).
  public static let leaderChangeMemory: Double = 86_400

  /// Leader changes in the hour before `now`.
  public mutating func leaderChanges(lastHourBefore now: Double) -> Int {
    leaderChanges.removeAll { $0 < now - Self.leaderChangeMemory }
    return leaderChanges.filter { $0 >= now - 3600 }.count
  }

  /// How long after its network path comes back a member's timeouts still count as the partition
  /// (connections cut mid-flight recover at TCP's retransmission pace, seconds after the path heals).
  public var partitionEcho: Double = 10

  /// The signals the diagnoser needs for one member.
  public func signals(name: String, health: HealthState, now: Double? = nil) -> MemberSignals {
    let t = members[name] ?? MemberTrack()
    let peersMoving = members.contains { $0.key != name && $0.value.unchangedSamples == 0 && $0.value.lastRaftIndex != nil }
    var s = MemberSignals(
      name: name, health: health, lastFailure: t.lastFailure, tcpReachable: t.tcpReachable,
      hasLeader: health == .healthy || t.lastFailure == nil ? t.hasLeader : nil,
      raftIndexStalled: t.unchangedSamples >= stallSamples && peersMoving, alarms: t.alarms,
      identityChanged: t.identityChanged, hashMismatch: t.hashMismatch, slowWrites: t.slowWrites,
      isLearner: t.isLearner)
    s.dataDirLost = t.dataDirLost
    s.raftIndexRegressed = t.raftIndexRegressed
    s.wasLeader = leader != 0 && (t.reportedID == leader || t.listedID == leader)
    if let now, let cut = t.lastUnreachableAt, now - cut < partitionEcho { s.recentlyUnreachable = true }
    return s
  }
}
