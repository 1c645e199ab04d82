/// A repair procedure: a fixed sequence of idempotent steps.
public enum Runbook: String, Sendable, Hashable, Codable, CaseIterable {
  /// A crashed member with an intact data dir is started again.
  case restartMember = "restart-member"
  /// A hung member is killed and started again.
  case unstickMember = "unstick-member"
  /// A lost, corrupt or long-gone member is removed and replaced through a learner.
  case replaceMember = "replace-member"
  /// Members defragmented one at a time, followers first, leader last.
  case defragment
  /// Compact, defragment every member, disarm the alarm, prove writes work.
  case clearNoSpace = "clear-nospace"
  /// Leadership handed from a sick leader to the healthiest follower.
  case moveLeader = "move-leader"
  /// Several crashed members with intact data dirs started again (not a membership change: the storm brake,
  /// which guards membership changes, does not hold it back).
  case restartMembers = "restart-members"
  /// A cluster that lost a majority of its voters for good is rebuilt from the newest verified backup: every
  /// member fenced; the snapshot and change log replayed offline, the revision raised above what clients saw;
  /// every member restored from that one snapshot into a new cluster and started.
  case restoreCluster = "restore-cluster"
  /// The standby site becomes the active one: the active side fenced first (its members stopped, so no
  /// client gets a write acknowledged there after the switch), the mirror drained and the RPO recorded,
  /// the new side compacted at its revision so old watches relist, the switch recorded and the endpoints
  /// published, the new side verified; then the old side is started again for the mirror to rebuild as the
  /// standby. The same runbook switches back (failback).
  case promoteStandby = "promote-standby"
  /// Every member's TLS certificates replaced with new ones, one member at a time (followers first, leader last):
  /// each restarted with its new files only while the rest keep a quorum, and verified — answering, serving the
  /// new certificate, the cluster whole — before the next; a member that does not come back is rolled back to
  /// its old files and the plan stops.
  case rotateCertificates = "rotate-certificates"

  /// Whether the runbook acts on one named member.
  public var needsMember: Bool {
    switch self {
    case .restartMember, .unstickMember, .replaceMember: true
    case .defragment, .clearNoSpace, .moveLeader, .restartMembers, .restoreCluster, .promoteStandby,
      .rotateCertificates:
      false
    }
  }

  /// Whether the runbook starts, stops or provisions member processes (it needs a runtime driver).
  public var needsRuntime: Bool {
    needsMember || self == .restartMembers || self == .restoreCluster || self == .rotateCertificates
  }
}

/// What one step does.
public enum StepAction: String, Sendable, Hashable, Codable, CaseIterable {
  /// Make sure the member's process is stopped (kill it if it runs).
  case fence
  /// Kill the member's process (it answers nothing, so it cannot be stopped gracefully).
  case kill = "kill-member"
  /// Start the member's process with its data dir.
  case start = "start-member"
  /// Wait until the member answers with a leader.
  case waitHealthy = "wait-healthy"
  /// Save a snapshot of the cluster (before a membership change).
  case snapshot
  /// Remove the member from the cluster.
  case remove = "remove-member"
  /// Pick a new name, URLs and an empty data dir for the replacement.
  case provision
  /// Add the replacement as a learner.
  case addLearner = "add-learner"
  /// Start the replacement empty, joining the existing cluster.
  case startNew = "start-new-member"
  /// Wait until the learner's applied index reaches the leader's.
  case waitCaughtUp = "wait-caught-up"
  /// Promote the learner to a voter.
  case promote
  /// Compact the keyspace, keeping the configured history window.
  case compact
  /// Defragment one member.
  case defragment
  /// Disarm the cluster's alarms.
  case disarm = "disarm-alarms"
  /// Hand leadership to the healthiest follower.
  case moveLeader = "move-leader"
  /// A write through the cluster is accepted.
  case verifyWrites = "verify-writes"
  /// Every voter answers with the same leader and a KV round trip works.
  case verify = "verify-cluster"
  /// The guard of a restore: a majority of the voters does not answer (never restore a live cluster).
  case confirmQuorumLost = "confirm-quorum-lost"
  /// Stop every member; their data dirs are retired by the restore, never reused.
  case fenceAll = "fence-members"
  /// Build the restore's snapshot offline: the newest verified snapshot with the change log replayed on top
  /// (one transaction per source revision), the revision raised above what clients saw, compacted.
  case replayChangeLog = "replay-change-log"
  /// Restore every member's data dir from that snapshot, with a new cluster token.
  case restoreAll = "restore-members"
  /// Start every member and wait until they answer with a leader.
  case startAll = "start-members"
  /// Stop every member of the side that was active (failover's fence).
  case fenceSide = "fence-old-side"
  /// Let the mirror apply what it still has, stop it, and record the RPO.
  case drainStandby = "drain-standby"
  /// Compact the new side at its revision (watches from before the switch relist).
  case compactNewSide = "compact-new-side"
  /// Record the new active side, publish its endpoints, turn the mirror around.
  case switchActive = "switch-active"
  /// Start the old side's members again (all together) for the mirror to rebuild as the standby; a side
  /// that cannot be started now (its site is gone) is left to come back later.
  case startOldSide = "start-old-side"
  /// One member's certificates replaced: the rest checked to keep a quorum, the new files installed (the old
  /// kept), the member restarted and waited for — rolled back to its old files if it does not come back.
  case rotateMemberCertificates = "rotate-member-certificates"
  /// The member serves the certificate now installed.
  case verifyCertificate = "verify-certificate"

  /// Steps that change the member list: each needs a live quorum and a fresh snapshot.
  public var changesMembership: Bool { self == .remove || self == .addLearner || self == .promote }
}

/// Where a step is.
public enum StepState: String, Sendable, Hashable, Codable {
  case pending, running, done, failed, skipped
}

/// One step of a plan, as journaled.
public struct PlanStep: Sendable, Hashable, Codable {
  public var action: StepAction
  /// The member it acts on (nil: the cluster).
  public var member: String?
  public var state: StepState = .pending
  public var startedAt: Double?
  public var finishedAt: Double?
  /// What it found or did, or why it failed.
  public var detail: String?

  public init(_ action: StepAction, member: String? = nil) {
    self.action = action
    self.member = member
  }

  public var label: String { member.map { "\(action.rawValue) \($0)" } ?? action.rawValue }
}

/// How a cluster's repairs are carried out.
public enum RepairMode: String, Sendable, Hashable, Codable, CaseIterable {
  /// Plans run as soon as they are made.
  case auto
  /// Plans wait for a person to approve them.
  case approve
  /// Plans are written out; nothing changes.
  case dryRun = "dry-run"
  /// No plans are made.
  case paused
}

/// Where a plan is.
public enum PlanState: String, Sendable, Hashable, Codable, CaseIterable {
  case awaitingApproval = "awaiting-approval"
  /// Approved (or automatic) and not started yet.
  case ready
  case running
  case succeeded
  /// Failed; it may be retried as a new attempt.
  case failed
  /// Stopped without finishing, on purpose (the cluster changed under it, or a guard refused).
  case abandoned
  case rejected
  /// Written out in dry-run mode; never runs.
  case dryRun = "dry-run"

  public var isFinished: Bool { ![.awaitingApproval, .ready, .running].contains(self) }
}

/// A repair: which runbook on what, why, who asked, and its journaled steps.
public struct RepairPlan: Sendable, Hashable, Codable {
  /// Assigned by the store.
  public var id: Int64
  public var cluster: String
  public var member: String?
  public var runbook: Runbook
  /// The fault it repairs (nil for a manual or scheduled run).
  public var fault: Fault?
  /// Why: the diagnosis or the operator's words.
  public var reason: String
  public var incidentID: Int64?
  /// "vigil" or the operator's name.
  public var requestedBy: String
  public var state: PlanState
  public var createdAt: Double
  public var updatedAt: Double
  public var finishedAt: Double?
  /// 1 for the first try; retries are new plans with the next attempt number.
  public var attempt: Int
  public var steps: [PlanStep]
  /// Facts decided by earlier steps that later ones need (the new member's name and URLs, the snapshot file).
  public var context: [String: String]
  /// Who approved or rejected it, and the outcome's summary.
  public var decidedBy: String?
  public var outcome: String?

  public init(
    id: Int64 = 0, cluster: String, member: String?, runbook: Runbook, fault: Fault?, reason: String,
    incidentID: Int64?, requestedBy: String, state: PlanState, at: Double, attempt: Int = 1, steps: [PlanStep]
  ) {
    self.id = id
    self.cluster = cluster
    self.member = member
    self.runbook = runbook
    self.fault = fault
    self.reason = reason
    self.incidentID = incidentID
    self.requestedBy = requestedBy
    self.state = state
    self.createdAt = at
    self.updatedAt = at
    self.attempt = attempt
    self.steps = steps
    self.context = [:]
  }

  /// The first step not done yet.
  public var nextStepIndex: Int? { steps.firstIndex { $0.state != .done && $0.state != .skipped } }
}

extension Runbook {
  /// The steps of this runbook for `member` (member runbooks) or for the
  /// cluster's members (`followers` then `leader`, for defragmenting).
  /// `members`: the members a cluster-wide restart or restore acts on.
  public func steps(member: String?, followers: [String] = [], leader: String? = nil, members: [String] = []) -> [PlanStep] {
    let defragOrder = followers + (leader.map { [$0] } ?? [])
    switch self {
    case .restartMember:
      return [PlanStep(.start, member: member), PlanStep(.waitHealthy, member: member), PlanStep(.verify)]
    case .unstickMember:
      return [
        PlanStep(.kill, member: member), PlanStep(.start, member: member), PlanStep(.waitHealthy, member: member),
        PlanStep(.verify),
      ]
    case .replaceMember:
      return [
        PlanStep(.fence, member: member), PlanStep(.snapshot), PlanStep(.remove, member: member), PlanStep(.provision),
        PlanStep(.addLearner), PlanStep(.startNew), PlanStep(.waitCaughtUp), PlanStep(.promote), PlanStep(.verify),
      ]
    case .defragment:
      return defragOrder.map { PlanStep(.defragment, member: $0) } + [PlanStep(.verify)]
    case .clearNoSpace:
      return [PlanStep(.compact)] + defragOrder.map { PlanStep(.defragment, member: $0) } + [
        PlanStep(.disarm), PlanStep(.verifyWrites), PlanStep(.verify),
      ]
    case .moveLeader:
      return [PlanStep(.moveLeader, member: leader), PlanStep(.verify)]
    case .restartMembers:
      return members.map { PlanStep(.start, member: $0) } + members.map { PlanStep(.waitHealthy, member: $0) } + [
        PlanStep(.verify)
      ]
    case .restoreCluster:
      return [
        PlanStep(.confirmQuorumLost), PlanStep(.fenceAll), PlanStep(.replayChangeLog), PlanStep(.restoreAll),
        PlanStep(.startAll), PlanStep(.verify),
      ]
    case .rotateCertificates:
      return defragOrder.flatMap {
        [
          PlanStep(.rotateMemberCertificates, member: $0), PlanStep(.waitHealthy, member: $0),
          PlanStep(.verifyCertificate, member: $0), PlanStep(.verify),
        ]
      }
    case .promoteStandby:
      return [
        PlanStep(.fenceSide), PlanStep(.drainStandby), PlanStep(.compactNewSide), PlanStep(.switchActive), PlanStep(.verify),
        PlanStep(.startOldSide),
      ]
    }
  }
}
