/// One member as the cluster shows it right now (read just before a step).
public struct LiveMember: Sendable, Hashable, Codable {
  public var id: UInt64
  public var name: String
  public var isLearner: Bool
  /// It answered a status call and knows a leader.
  public var healthy: Bool
  public var isLeader: Bool
  /// Raft applied index (nil: no answer).
  public var appliedIndex: UInt64?

  public init(id: UInt64, name: String, isLearner: Bool, healthy: Bool, isLeader: Bool = false, appliedIndex: UInt64? = nil) {
    self.id = id
    self.name = name
    self.isLearner = isLearner
    self.healthy = healthy
    self.isLeader = isLeader
    self.appliedIndex = appliedIndex
  }
}

/// The cluster as read just before a step.
public struct LiveCluster: Sendable, Hashable, Codable {
  public var members: [LiveMember]

  public init(members: [LiveMember]) { self.members = members }

  public var voters: [LiveMember] { members.filter { !$0.isLearner } }
  public var healthyVoters: [LiveMember] { voters.filter(\.healthy) }
  public var learners: [LiveMember] { members.filter(\.isLearner) }
  public var leader: LiveMember? { members.first { $0.isLeader && $0.healthy } }
  public func member(_ name: String?) -> LiveMember? { members.first { $0.name == name } }

  /// Votes needed for a quorum among `voters` voters.
  public static func quorum(_ voters: Int) -> Int { voters / 2 + 1 }
  /// Every voter answers with a leader.
  public var allVotersHealthy: Bool { !voters.isEmpty && voters.allSatisfy(\.healthy) }
}

/// What a guard needs besides the live cluster.
public struct GuardContext: Sendable, Hashable {
  public var now: Double
  /// When this plan's snapshot was taken (seconds since 1970).
  public var snapshotAt: Double?
  /// A snapshot older than this does not count as fresh.
  public var maxSnapshotAge: Duration = .seconds(600)
  /// The learner this plan added (its own membership change in progress).
  public var ownLearner: String?

  public init(now: Double, snapshotAt: Double? = nil, ownLearner: String? = nil) {
    self.now = now
    self.snapshotAt = snapshotAt
    self.ownLearner = ownLearner
  }
}

extension StepAction {
  /// Steps ``SafetyGuard`` has a rule for (the others need no read of the live cluster first).
  public var hasSafetyGuard: Bool {
    switch self {
    case .remove, .addLearner, .promote, .fence, .kill, .defragment, .moveLeader, .rotateMemberCertificates: true
    default: false
    }
  }
}

/// etcd's safety rules as checks run before every step. Pure: the caller
/// reads the live cluster, this says whether the step may run and, if not, why.
public enum SafetyGuard {
  /// Nil when `step` may run now; otherwise the reason it may not.
  public static func check(_ step: PlanStep, in cluster: LiveCluster, _ context: GuardContext) -> String? {
    let voters = cluster.voters.count
    let healthy = cluster.healthyVoters.count
    switch step.action {
    case .remove:
      guard let target = cluster.member(step.member) else { return nil }  // already gone: nothing to change
      if let refusal = membershipPreconditions(cluster, context) { return refusal }
      let votersAfter = target.isLearner ? voters : voters - 1
      let healthyAfter = cluster.healthyVoters.filter { $0.id != target.id }.count
      let need = LiveCluster.quorum(votersAfter)
      if healthyAfter < need {
        return "removing \(target.name) would leave \(healthyAfter) healthy voter(s) of \(votersAfter); a quorum needs \(need)"
      }
      return nil
    case .addLearner:
      if let refusal = membershipPreconditions(cluster, context) { return refusal }
      let need = LiveCluster.quorum(voters)
      if healthy < need {
        return "only \(healthy) of \(voters) voters are healthy; adding a member needs a quorum of \(need)"
      }
      return nil
    case .promote:
      if let refusal = snapshotPrecondition(context) { return refusal }
      guard let learner = cluster.member(context.ownLearner) else {
        return "the learner \(context.ownLearner ?? "?") is not in the member list"
      }
      if !learner.isLearner { return nil }  // already a voter
      let need = LiveCluster.quorum(voters + 1)
      if healthy + (learner.healthy ? 1 : 0) < need {
        return "promoting \(learner.name) would leave \(healthy + (learner.healthy ? 1 : 0)) healthy voter(s) of \(voters + 1); a quorum needs \(need)"
      }
      return nil
    case .fence, .kill:
      // Stopping a member must not cost a quorum: the target must not be one of the healthy voters a quorum relies on.
      guard let target = cluster.member(step.member) else { return nil }
      let healthyAfter = cluster.healthyVoters.filter { $0.id != target.id }.count
      let need = LiveCluster.quorum(voters)
      if !target.isLearner && target.healthy && healthyAfter < need {
        return "stopping \(target.name) would leave \(healthyAfter) healthy voter(s) of \(voters); a quorum needs \(need)"
      }
      return nil
    case .defragment:
      // Defragmenting blocks the member: every other voter must be healthy to carry the cluster meanwhile.
      let others = cluster.voters.filter { $0.name != step.member }
      if let sick = others.first(where: { !$0.healthy }) {
        return "\(sick.name) is not healthy; defragment only while every other voter is"
      }
      return nil
    case .rotateMemberCertificates:
      // The member is restarted: the others must carry the cluster meanwhile — every one of them healthy (a quorum
      // without it, with room for one more fault), and a leader among them.
      guard let target = cluster.member(step.member) else { return "\(step.member ?? "?") is not in the member list" }
      let others = cluster.voters.filter { $0.id != target.id }
      if let sick = others.first(where: { !$0.healthy }) {
        return "\(sick.name) is not healthy; restart \(target.name) with new certificates only while every other voter is"
      }
      let need = LiveCluster.quorum(voters)
      if others.count < need {
        return "restarting \(target.name) would leave \(others.count) voter(s) of \(voters); a quorum needs \(need)"
      }
      guard cluster.leader != nil else { return "the cluster has no leader" }
      return nil
    case .moveLeader:
      guard cluster.leader != nil else { return "the cluster has no leader to move" }
      guard cluster.voters.contains(where: { !$0.isLeader && $0.healthy }) else {
        return "no healthy follower to hand leadership to"
      }
      return nil
    case .start, .startNew, .waitHealthy, .snapshot, .provision, .waitCaughtUp, .compact, .disarm, .verifyWrites,
      .verify, .confirmQuorumLost, .fenceAll, .restoreAll, .startAll, .replayChangeLog, .fenceSide, .drainStandby,
      .compactNewSide, .switchActive, .startOldSide, .verifyCertificate:
      // The restore's guard needs no member list (a cluster without quorum may not give one): see restoreRefusal.
      return nil
    }
  }

  /// The guard of a restore from backup: never while a majority of the voters answers with a leader.
  /// - Parameters:
  ///   - answering: voters that answered a status call with a leader just now.
  ///   - voters: the cluster's voters.
  public static func restoreRefusal(answering: Int, voters: Int) -> String? {
    let need = LiveCluster.quorum(voters)
    if answering >= need {
      return "\(answering) of \(voters) voters answer with a leader (a quorum is \(need)): the cluster is alive, it must not be restored"
    }
    return nil
  }

  /// One membership change at a time, and a fresh snapshot before it.
  static func membershipPreconditions(_ cluster: LiveCluster, _ context: GuardContext) -> String? {
    if let other = cluster.learners.first(where: { $0.name != context.ownLearner }) {
      return "another membership change is in progress: learner \(other.name) is not promoted yet"
    }
    return snapshotPrecondition(context)
  }

  static func snapshotPrecondition(_ context: GuardContext) -> String? {
    guard let at = context.snapshotAt else { return "no snapshot was taken before this membership change" }
    if context.now - at > context.maxSnapshotAge.seconds {
      return "the snapshot is \(Int(context.now - at)) s old; a membership change needs one younger than \(Int(context.maxSnapshotAge.seconds)) s"
    }
    return nil
  }
}
