import VigilCore

/// What a drill does to the cluster.
public enum DrillFaultKind: String, Sendable, Hashable, Codable, CaseIterable {
  /// SIGKILL the member's process.
  case kill
  /// SIGSTOP it; SIGCONT after the duration (if Vigil has not replaced the process by then).
  case freeze
  /// SIGKILL it and delete its data dir.
  case wipe
  /// Cut it off with iptables rules in its network namespace; heal after the duration.
  case partition
  /// Fill the backend quota until etcd raises NOSPACE.
  case fillQuota = "fill-quota"
  /// Kill a member, wait until it is repaired, kill the next — every member once.
  case rolling
  /// Kill and wipe a member, wait until it is replaced, then the next of the original members — every one once,
  /// so the cluster ends with none of the members (or addresses) it started with.
  case rollingWipe = "rolling-wipe"
  /// Wipe and kill a member, then kill Vigil in the middle of the repair and start it again.
  case killVigil = "kill-vigil"
  /// Cut every host of the primary site off from everyone (a site lost); the standby site takes over.
  case siteLoss = "site-loss"
  /// Cut every host of the standby site off for the duration, then heal: the mirror falls behind and catches up.
  case standbyLag = "standby-lag"
  /// Stop Vigil (and with it the mirror) for the duration while the primary is written, then start it again.
  case mirrorRestart = "mirror-restart"
  /// Ask Vigil for a failover by hand while the workload writes.
  case failoverUnderLoad = "failover-under-load"
  /// Three replicas of Vigil share the cluster: wipe and kill a member, then kill the replica that owns the
  /// cluster in the middle of the repair; another must take it over and finish the same plan.
  case killVigilLeader = "kill-vigil-leader"
  /// Three replicas: wipe and kill a member, then cut the replica that owns the cluster off from the management
  /// etcd in the middle of the repair; it must stop acting within its lease and another finish the plan.
  case partitionVigil = "partition-vigil"
  /// Vigil's replicas started and stopped gracefully at random for the duration (1 to 4 live); the fleet's
  /// shards sampled every second.
  case vigilChurn = "vigil-churn"

  /// Whether the drill runs Vigil as replicas (a management etcd, a shared PostgreSQL store).
  public var needsReplicas: Bool { self == .killVigilLeader || self == .partitionVigil || self == .vigilChurn }

  /// Whether the drill runs a primary site and a standby site (a second cluster on hosts of its own).
  public var needsStandby: Bool {
    switch self {
    case .siteLoss, .standbyLag, .mirrorRestart, .failoverUnderLoad: true
    default: false
    }
  }
}

/// Which member a fault hits.
public enum DrillTarget: String, Sendable, Hashable, Codable {
  case follower, leader
  /// Every member in turn (rolling).
  case each
  /// The whole cluster (NOSPACE).
  case cluster
  /// A majority of the voters at once: the leader and seeded followers (quorum lost).
  case majority
  /// Every member at once.
  case all
  /// Every member of one site (the primary's or the standby's, by the fault).
  case site
}

/// Whom a partition cuts the member off from.
public enum PartitionScope: String, Sendable, Hashable, Codable {
  /// The other members only: Vigil and clients still reach it.
  case peers
  /// Everyone: its host drops off the network.
  case everyone
}

/// Which packets a partition drops.
public enum PartitionDirection: String, Sendable, Hashable, Codable {
  case both
  /// Only packets coming in.
  case inbound
  /// Only packets going out.
  case outbound
}

/// What must happen for the drill to pass.
public struct DrillExpectation: Sendable, Hashable, Codable {
  /// The fault Vigil must name (nil: any incident, or none needed).
  public var diagnosis: Fault?
  /// Whether an incident must be opened.
  public var detected: Bool
  /// The runbook that must repair it (nil: no repair expected — the drill heals it).
  public var runbook: Runbook?
  /// A new leader must be elected among the rest while the fault lasts.
  public var newLeader: Bool
  /// The cut-off leader must report that it is no longer leader.
  public var oldLeaderStepsDown: Bool
  /// Acknowledged writes in this many seconds before the fault may be lost (a restore from backup); every older
  /// one must survive. Nil: none may be lost.
  public var rpoWindow: Double?
  /// Only restarts may repair it (`restart-members`, or `restart-member` for each member when one is seen
  /// failing before the other): no membership change, no restore.
  public var restartedOnly: Bool
  /// Clients must never see the store revision go backwards, and a watch held across the fault must end as
  /// compacted rather than silently skip changes.
  public var revisionsForward: Bool
  /// Standby sites: after the fault the standby holds exactly the primary's content at the same revision
  /// (every key, value, version and lease; revisions shifted by the mirror's offset).
  public var standbyExact: Bool
  /// Standby sites: Vigil reported the lag while the fault lasted (status and a `standby-lag` finding).
  public var lagReported: Bool
  /// Standby sites: the mirror resumed from its stored position after the restart (no new seeding).
  public var mirrorResumed: Bool

  public init(
    diagnosis: Fault? = nil, detected: Bool = true, runbook: Runbook? = nil, newLeader: Bool = false,
    oldLeaderStepsDown: Bool = false, rpoWindow: Double? = nil, restartedOnly: Bool = false, revisionsForward: Bool = false,
    standbyExact: Bool = false, lagReported: Bool = false, mirrorResumed: Bool = false
  ) {
    self.standbyExact = standbyExact
    self.lagReported = lagReported
    self.mirrorResumed = mirrorResumed
    self.restartedOnly = restartedOnly
    self.diagnosis = diagnosis
    self.detected = detected
    self.runbook = runbook
    self.newLeader = newLeader
    self.oldLeaderStepsDown = oldLeaderStepsDown
    self.rpoWindow = rpoWindow
    self.revisionsForward = revisionsForward
  }
}

/// A drill as data: the fault, its target, how long it lasts, what must follow.
public struct DrillScenario: Sendable, Hashable, Codable {
  public var name: String
  public var summary: String
  public var fault: DrillFaultKind
  public var target: DrillTarget
  /// How long the fault lasts before the drill undoes it (freeze, partition); seconds.
  public var duration: Double
  public var scope: PartitionScope
  public var direction: PartitionDirection
  /// The cluster's `--quota-backend-bytes` (fill-quota needs a small one).
  public var quotaBytes: Int64?
  public var expect: DrillExpectation

  public init(
    name: String, summary: String, fault: DrillFaultKind, target: DrillTarget, duration: Double = 0,
    scope: PartitionScope = .everyone, direction: PartitionDirection = .both, quotaBytes: Int64? = nil,
    expect: DrillExpectation
  ) {
    self.name = name
    self.summary = summary
    self.fault = fault
    self.target = target
    self.duration = duration
    self.scope = scope
    self.direction = direction
    self.quotaBytes = quotaBytes
    self.expect = expect
  }

  /// Every built-in scenario, in the order a suite runs them.
  public static let catalog: [DrillScenario] = [
    DrillScenario(
      name: "kill-follower", summary: "SIGKILL a follower", fault: .kill, target: .follower,
      expect: DrillExpectation(diagnosis: .crashed, runbook: .restartMember)),
    DrillScenario(
      name: "kill-leader", summary: "SIGKILL the leader", fault: .kill, target: .leader,
      expect: DrillExpectation(diagnosis: .crashed, runbook: .restartMember, newLeader: true)),
    DrillScenario(
      name: "freeze-follower", summary: "SIGSTOP a follower; SIGCONT after 20 s if still frozen", fault: .freeze,
      target: .follower, duration: 20, expect: DrillExpectation(diagnosis: .hung, runbook: .unstickMember)),
    DrillScenario(
      name: "wipe-follower", summary: "SIGKILL a follower and delete its data dir", fault: .wipe, target: .follower,
      expect: DrillExpectation(diagnosis: .dataLoss, runbook: .replaceMember)),
    DrillScenario(
      name: "partition-follower", summary: "cut a follower's host off the network for 6 s, then heal",
      fault: .partition, target: .follower, duration: 6, scope: .everyone,
      expect: DrillExpectation(diagnosis: .partitioned)),
    DrillScenario(
      name: "partition-leader", summary: "cut the leader off from its peers for 6 s (it must step down), then heal",
      fault: .partition, target: .leader, duration: 6, scope: .peers,
      expect: DrillExpectation(newLeader: true, oldLeaderStepsDown: true)),
    DrillScenario(
      name: "partition-heal", summary: "drop a follower's inbound packets for 3 s, then heal", fault: .partition,
      target: .follower, duration: 3, scope: .everyone, direction: .inbound,
      expect: DrillExpectation(detected: false)),
    DrillScenario(
      name: "fill-quota", summary: "fill a 24 MiB quota until NOSPACE", fault: .fillQuota, target: .cluster,
      quotaBytes: 24 << 20, expect: DrillExpectation(diagnosis: .noSpace, runbook: .clearNoSpace)),
    DrillScenario(
      name: "rolling-kill", summary: "SIGKILL each member in turn, each after the last was repaired", fault: .rolling,
      target: .each, expect: DrillExpectation(diagnosis: .crashed, runbook: .restartMember)),
    DrillScenario(
      name: "rolling-wipe",
      summary: "SIGKILL and wipe each original member in turn, each after the last was replaced",
      fault: .rollingWipe, target: .each, expect: DrillExpectation(diagnosis: .dataLoss, runbook: .replaceMember)),
    DrillScenario(
      name: "kill-vigil", summary: "wipe a follower; kill Vigil mid-replacement; start it again", fault: .killVigil,
      target: .follower, expect: DrillExpectation(diagnosis: .dataLoss, runbook: .replaceMember)),
    DrillScenario(
      name: "kill-vigil-leader",
      summary: "3 Vigil replicas; wipe a follower; kill the replica owning the cluster mid-replacement", fault: .killVigilLeader,
      target: .follower, expect: DrillExpectation(diagnosis: .dataLoss, runbook: .replaceMember)),
    DrillScenario(
      name: "partition-vigil",
      summary: "3 Vigil replicas; wipe a follower; cut the replica owning the cluster off from the management etcd mid-replacement",
      fault: .partitionVigil, target: .follower, expect: DrillExpectation(diagnosis: .dataLoss, runbook: .replaceMember)),
    DrillScenario(
      name: "vigil-churn", summary: "Vigil's replicas started and stopped at random for 60 s; shards sampled every second",
      fault: .vigilChurn, target: .cluster, duration: 60, expect: DrillExpectation(detected: false)),
    DrillScenario(
      name: "crash-majority", summary: "SIGKILL the leader and a follower at once, data intact", fault: .kill,
      target: .majority, expect: DrillExpectation(restartedOnly: true, revisionsForward: true)),
    DrillScenario(
      name: "lose-quorum", summary: "SIGKILL the leader and a follower at once and delete their data dirs",
      fault: .wipe, target: .majority,
      expect: DrillExpectation(runbook: .restoreCluster, rpoWindow: 1, revisionsForward: true)),
    DrillScenario(
      name: "lose-all", summary: "SIGKILL every member at once and delete every data dir", fault: .wipe, target: .all,
      expect: DrillExpectation(runbook: .restoreCluster, rpoWindow: 1, revisionsForward: true)),
    DrillScenario(
      name: "site-loss", summary: "cut every host of the primary site off from everyone; the standby site takes over",
      fault: .siteLoss, target: .site, scope: .everyone,
      expect: DrillExpectation(runbook: .promoteStandby, rpoWindow: 1, revisionsForward: true)),
    DrillScenario(
      name: "standby-lag", summary: "cut the standby site off for 8 s, then heal: lag reported, then caught up exactly",
      fault: .standbyLag, target: .site, duration: 8, scope: .everyone,
      expect: DrillExpectation(detected: false, standbyExact: true, lagReported: true)),
    DrillScenario(
      name: "mirror-restart", summary: "stop Vigil and its mirror for 4 s under load, then start it again",
      fault: .mirrorRestart, target: .cluster, duration: 4,
      expect: DrillExpectation(detected: false, standbyExact: true, mirrorResumed: true)),
    DrillScenario(
      name: "failover-under-load", summary: "fail over to the standby site by hand while the workload writes",
      fault: .failoverUnderLoad, target: .cluster,
      expect: DrillExpectation(detected: false, runbook: .promoteStandby, rpoWindow: 1, revisionsForward: true)),
  ]

  /// The built-in scenario with this name.
  public static func named(_ name: String) -> DrillScenario? { catalog.first { $0.name == name } }
}
