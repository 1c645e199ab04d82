import VigilCore

/// One fault of a drill run and what followed it; times in seconds since the run began.
public struct DrillEpisode: Sendable, Hashable, Codable {
  public var member: String?
  /// Every member hit, when the fault hit several at once.
  public var members: [String]?
  public var injectedAt: Double
  /// The incident's confirmed failure (nil: not detected).
  public var detectedAt: Double?
  public var diagnosis: Fault?
  /// When the drill undid the fault itself (thaw, heal), if it did.
  public var undoneAt: Double?
  public var repairs: [DrillRepair] = []
  /// The first moment after the fault with every voter answering, one leader, writes accepted.
  public var healthyAt: Double?
  /// A new leader among the others while the fault lasted (leader faults).
  public var newLeader: String?
  /// The cut-off leader's own status no longer names itself leader.
  public var oldLeaderSteppedDown: Bool?
  /// When the drill stopped Vigil mid-repair, and started it again (kill-vigil).
  public var vigilStoppedAt: Double?
  public var vigilRestartedAt: Double?
  /// What a drill with a standby site saw of the mirror and the failover.
  public var sites: SiteObservation?
  /// What a drill of Vigil's replicas saw.
  public var replicas: ReplicaObservation?

  public init(member: String?, injectedAt: Double) {
    self.member = member
    self.injectedAt = injectedAt
  }

  public var mttd: Double? { detectedAt.map { $0 - injectedAt } }
  public var mttr: Double? { healthyAt.map { $0 - injectedAt } }
}

/// A drill of Vigil's replicas: the one lost (killed, or cut off from the management etcd), who finished, and each
/// step's runs as the audit log records them.
public struct ReplicaObservation: Sendable, Hashable, Codable {
  /// The replica that owned the cluster and was lost.
  public var lost: String
  /// Cut off from the management etcd (still running) rather than killed.
  public var cutOff: Bool
  /// When another replica guarded the cluster (relative to the run).
  public var takenOverAt: Double?
  /// The replica that resumed the plan (from its `resumed-plan` audit entry).
  public var resumedBy: String?
  /// Steps of the drill's plans done more than once, or on more than one replica ("label: replica, replica").
  public var repeatedSteps: [String] = []
  /// Steps done, each once, and where: "label@replica".
  public var steps: [String] = []
  /// Steps of the lost replica still running when the next owner's first step began (must be none).
  public var overlapping: [String] = []
  /// When the lost replica's last step ended, relative to its loss (it must stop within its lease).
  public var lastStepAfterLoss: Double?
  /// The replicas' lease TTL, seconds.
  public var leaseTTL: Double
  /// vigil-churn: replicas started and stopped, samples taken (one a second, of every shard), samples with a
  /// shard owned by two live replicas (must be 0), and the longest a shard went without a live owner.
  public var churn: ChurnObservation?

  public init(lost: String, cutOff: Bool, leaseTTL: Double) {
    self.lost = lost
    self.cutOff = cutOff
    self.leaseTTL = leaseTTL
  }
}

/// What vigil-churn saw.
public struct ChurnObservation: Sendable, Hashable, Codable {
  public var starts = 0
  public var stops = 0
  public var samples = 0
  public var doubleOwned = 0
  /// Shard-samples with no live owner, and the longest such stretch of one shard, seconds.
  public var unowned = 0
  public var longestUnowned: Double = 0
  /// Live replicas at each sample, smallest and largest.
  public var fewest = 0
  public var most = 0

  public init() {}
}

/// A drill with a standby site: the mirror and the failover as the drill saw them (times relative to the run).
public struct SiteObservation: Sendable, Hashable, Codable {
  /// The side serving the pair before and after the fault.
  public var activeBefore: String
  public var activeAfter: String?
  /// The largest lag Vigil's status showed while the fault lasted.
  public var maxLagSeconds: Double = 0
  public var maxLagRevisions: Int64 = 0
  /// Vigil raised a `standby-lag` finding while the fault lasted.
  public var lagFinding = false
  /// The standby's content compared with the primary's at one revision: when, at which primary revision,
  /// how many keys, and the first differences (empty: exact).
  public var comparedAt: Double?
  /// The primary's revision when the fault ended: the standby applied at least this much before the compare.
  public var caughtUpTo: Int64?
  public var comparedRevision: Int64?
  public var comparedKeys: Int?
  public var differences: [String] = []
  /// Seedings of the standby by the mirror that ran after the fault (a restart must resume, not seed again).
  public var seedsAfter: Int?
  /// When the promote-standby plan finished fencing the old side, and started it again as the standby.
  public var fencedAt: Double?
  public var oldSideStartedAt: Double?
  /// Acknowledged writes that completed after the fence and are not on the new side (split brain).
  public var ackedAfterFence: Int = 0
  /// Revisions the standby never received, as the failover recorded them.
  public var rpoRevisions: Int64?
  /// When the old side, rebuilt by the turned-around mirror, was again a caught-up standby.
  public var standbyRebuiltAt: Double?
  /// Operations of clients pinned to the old side's members that were sent after it came back as the
  /// standby (outside the contract: they are left out of the history).
  public var droppedStandbyOperations = 0

  public init(activeBefore: String) { self.activeBefore = activeBefore }
}

/// A repair plan Vigil ran during the run.
public struct DrillRepair: Sendable, Hashable, Codable {
  public var plan: Int64
  public var runbook: Runbook
  public var state: PlanState
  public var startedAt: Double
  public var finishedAt: Double?
  public var steps: [DrillStep]

  public init(plan: Int64, runbook: Runbook, state: PlanState, startedAt: Double, finishedAt: Double?, steps: [DrillStep]) {
    self.plan = plan
    self.runbook = runbook
    self.state = state
    self.startedAt = startedAt
    self.finishedAt = finishedAt
    self.steps = steps
  }
}

public struct DrillStep: Sendable, Hashable, Codable {
  public var label: String
  public var startedAt: Double?
  public var finishedAt: Double?
  public var state: String

  public init(label: String, startedAt: Double?, finishedAt: Double?, state: String) {
    self.label = label
    self.startedAt = startedAt
    self.finishedAt = finishedAt
    self.state = state
  }
}

/// Latency of acknowledged operations in one phase of a run.
public struct LatencySummary: Sendable, Hashable, Codable {
  public var count: Int
  public var p50: Double?
  public var p99: Double?

  public init(_ latencies: [Double]) {
    let sorted = latencies.sorted()
    count = sorted.count
    p50 = DrillStatistics.percentile(sorted, 0.50)
    p99 = DrillStatistics.percentile(sorted, 0.99)
  }
}

/// What the recorded workload saw.
public struct WorkloadSummary: Sendable, Hashable, Codable {
  public var operations: Int
  public var ok: Int
  public var failed: Int
  public var unknown: Int
  /// Acknowledged writes (put, insert, swapped cas).
  public var acknowledgedWrites: Int
  public var before: LatencySummary
  public var during: LatencySummary
  public var after: LatencySummary
  /// The longest stretch after the first fault with no acknowledged write through the whole-cluster client.
  public var unavailableSeconds: Double
  public var unavailableFrom: Double?

  /// Sums up `history` split at `faultAt` and `recoveredAt`.
  public init(_ history: [RecordedOperation], faultAt: Double, recoveredAt: Double?, wholeClusterClient: String) {
    operations = history.count
    ok = history.filter { $0.outcome == .ok }.count
    failed = history.filter { $0.outcome == .failed }.count
    unknown = history.filter { $0.outcome == .unknown }.count
    let acked = history.filter { $0.outcome == .ok && $0.isWrite && ($0.kind != .cas || $0.succeeded == true) }
    acknowledgedWrites = acked.count
    let okOps = history.filter { $0.outcome == .ok }
    let end = recoveredAt ?? .infinity
    before = LatencySummary(okOps.filter { $0.invokedAt < faultAt }.map(\.latency))
    during = LatencySummary(okOps.filter { $0.invokedAt >= faultAt && $0.invokedAt < end }.map(\.latency))
    after = LatencySummary(okOps.filter { $0.invokedAt >= end }.map(\.latency))
    // Unavailability: gaps between acknowledged writes of the whole-cluster client, from the last one before
    // the fault on; a run that ends unavailable counts up to its last operation.
    let writes = history.filter { $0.client == wholeClusterClient && $0.outcome == .ok && $0.isWrite }
      .map(\.completedAt).sorted()
    let lastEnd = history.map(\.completedAt).max() ?? faultAt
    var points = [writes.last { $0 <= faultAt } ?? faultAt] + writes.filter { $0 > faultAt }
    points.append(lastEnd)
    var worst = 0.0
    var from: Double?
    for (a, b) in zip(points, points.dropFirst()) where b - a > worst {
      worst = b - a
      from = a
    }
    unavailableSeconds = worst
    unavailableFrom = from
  }
}

/// The verdict of one run.
public struct DrillRun: Sendable, Hashable, Codable {
  public var scenario: String
  public var repeatIndex: Int
  public var seed: UInt64
  /// Wall-clock start (Unix seconds); every other time is relative to it.
  public var startedAt: Double
  public var endedAt: Double
  public var episodes: [DrillEpisode]
  public var workload: WorkloadSummary
  public var lostWrites: [RecordedOperation]
  public var phantomReads: Int
  public var checker: LinearizabilityVerdict
  /// Why the run failed (empty: passed).
  public var problems: [String]
  /// Acknowledged writes lost within the scenario's RPO window (allowed; those outside are in `lostWrites`).
  public var lostInWindow: [RecordedOperation]?
  /// Times a client saw the store revision lower than one it had seen before.
  public var revisionRegressions: Int?
  /// How a watch held across the fault ended: `compacted` (clients relist), `open` (it kept delivering in
  /// order), or the error.
  public var watchAcrossFault: String?

  public init(
    scenario: String, repeatIndex: Int, seed: UInt64, startedAt: Double, endedAt: Double, episodes: [DrillEpisode],
    workload: WorkloadSummary, lostWrites: [RecordedOperation], phantomReads: Int, checker: LinearizabilityVerdict,
    problems: [String]
  ) {
    self.scenario = scenario
    self.repeatIndex = repeatIndex
    self.seed = seed
    self.startedAt = startedAt
    self.endedAt = endedAt
    self.episodes = episodes
    self.workload = workload
    self.lostWrites = lostWrites
    self.phantomReads = phantomReads
    self.checker = checker
    self.problems = problems
  }

  public var passed: Bool { problems.isEmpty }

  /// What went wrong, judged against the scenario's expectation.
  public static func problems(
    _ scenario: DrillScenario, episodes: [DrillEpisode], lost: Int, phantom: Int, checker: LinearizabilityVerdict,
    revisionRegressions: Int? = nil, watchAcrossFault: String? = nil
  ) -> [String] {
    var problems: [String] = []
    if scenario.expect.revisionsForward {
      if let r = revisionRegressions, r > 0 { problems.append("clients saw the revision go backwards \(r) time(s)") }
      if let w = watchAcrossFault, w != "compacted", w != "open" {
        problems.append("the watch held across the fault ended with \(w)")
      }
    }
    if lost > 0 { problems.append("\(lost) acknowledged write(s) lost") }
    if phantom > 0 { problems.append("\(phantom) serializable read(s) returned a value nobody wrote") }
    switch checker.status {
    case .violation: problems.append("the history is not linearizable (key \(checker.violation?.key ?? "?"))")
    case .gaveUp: problems.append("the checker gave up on \(checker.undecidedKeys.count) key(s): not decided")
    case .linearizable: break
    }
    let expect = scenario.expect
    for e in episodes {
      let who = e.member.map { "member \($0)" } ?? "the cluster"
      if expect.detected, e.detectedAt == nil { problems.append("\(who): the fault was not detected") }
      if let d = expect.diagnosis, e.detectedAt != nil, e.diagnosis != d {
        problems.append("\(who): diagnosed \(e.diagnosis?.rawValue ?? "nothing"), expected \(d.rawValue)")
      }
      if let r = expect.runbook, !e.repairs.contains(where: { $0.runbook == r && $0.state == .succeeded }) {
        let ran = e.repairs.map { "\($0.runbook.rawValue) \($0.state.rawValue)" }.joined(separator: ", ")
        problems.append("\(who): no successful \(r.rawValue) (ran: \(ran.isEmpty ? "nothing" : ran))")
      }
      if e.healthyAt == nil { problems.append("\(who): the cluster was not verified healthy afterwards") }
      if expect.restartedOnly {
        let restarts: Set<Runbook> = [.restartMember, .restartMembers]
        if let other = e.repairs.first(where: { !restarts.contains($0.runbook) }) {
          problems.append("\(who): \(other.runbook.rawValue) ran where restarts were enough")
        }
        if !e.repairs.contains(where: { restarts.contains($0.runbook) && $0.state == .succeeded }) {
          problems.append("\(who): no successful restart")
        }
        if let failed = e.repairs.first(where: { $0.state != .succeeded }) {
          problems.append("\(who): \(failed.runbook.rawValue) #\(failed.plan) \(failed.state.rawValue)")
        }
      }
      if expect.runbook == .restoreCluster, let w = watchAcrossFault, w != "compacted" {
        problems.append("\(who): a watch from before the restore did not end as compacted (\(w))")
      }
      if scenario.fault.needsStandby { problems += siteProblems(scenario, e, who: who) }
      if scenario.fault == .vigilChurn {
        if let c = e.replicas?.churn {
          if c.doubleOwned > 0 { problems.append("\(c.doubleOwned) sample(s) saw a shard owned by two live replicas") }
          if c.longestUnowned > (e.replicas?.leaseTTL ?? 5) {
            problems.append("a shard went \(String(format: "%.1f", c.longestUnowned)) s without a live owner")
          }
          if c.starts == 0 || c.stops == 0 { problems.append("the churn started \(c.starts) and stopped \(c.stops) replicas") }
        } else {
          problems.append("no churn was observed")
        }
      } else if scenario.fault.needsReplicas {
        if let r = e.replicas {
          if r.resumedBy == nil { problems.append("no replica resumed the plan left by \(r.lost)") }
          if let by = r.resumedBy, by == r.lost { problems.append("the lost replica \(by) resumed its own plan") }
          if !r.repeatedSteps.isEmpty { problems.append("steps run twice or on two replicas: \(r.repeatedSteps.joined(separator: "; "))") }
          if let last = r.lastStepAfterLoss, last > r.leaseTTL {
            problems.append("\(r.lost) still acted \(String(format: "%.2f", last)) s after it was lost (lease \(r.leaseTTL) s)")
          }
          if !r.overlapping.isEmpty {
            problems.append("steps of \(r.lost) still ran when the next owner began: \(r.overlapping.joined(separator: "; "))")
          }
        } else {
          problems.append("\(who): no replica was lost")
        }
      }
      if expect.newLeader, e.newLeader == nil { problems.append("\(who): no new leader was elected") }
      if expect.oldLeaderStepsDown, e.oldLeaderSteppedDown != true {
        problems.append("\(who): the cut-off leader did not step down")
      }
    }
    return problems
  }
}

extension DrillRun {
  /// What a drill with a standby site must show besides the common checks.
  static func siteProblems(_ scenario: DrillScenario, _ e: DrillEpisode, who: String) -> [String] {
    guard let s = e.sites else { return ["\(who): nothing was observed of the standby site"] }
    var problems: [String] = []
    let expect = scenario.expect
    if expect.runbook == .promoteStandby {
      if s.activeAfter == nil || s.activeAfter == s.activeBefore {
        problems.append("\(who): \(s.activeBefore) still serves after the failover")
      }
      if s.fencedAt == nil { problems.append("\(who): the old side was not fenced") }
      if s.ackedAfterFence > 0 {
        problems.append("\(who): \(s.ackedAfterFence) write(s) acknowledged after the fence are not on the new side (split brain)")
      }
      if s.standbyRebuiltAt == nil { problems.append("\(who): the old side was not rebuilt as the standby") }
    } else if let after = s.activeAfter, after != s.activeBefore {
      problems.append("\(who): the pair failed over to \(after) where no failover was expected")
    }
    if expect.standbyExact {
      if s.comparedAt == nil {
        problems.append("\(who): the standby never caught up with the primary to be compared")
      } else if !s.differences.isEmpty {
        problems.append("\(who): the standby differs from the primary at revision \(s.comparedRevision ?? 0): \(s.differences.prefix(3).joined(separator: "; "))")
      }
    }
    if expect.lagReported {
      if s.maxLagSeconds <= 1 { problems.append("\(who): the lag Vigil reported never passed 1 s (max \(s.maxLagSeconds) s)") }
      if !s.lagFinding { problems.append("\(who): no standby-lag finding while the standby was cut off") }
    }
    if expect.mirrorResumed, s.seedsAfter != 0 {
      problems.append("\(who): the restarted mirror seeded the standby again (\(s.seedsAfter.map(String.init) ?? "unknown") time(s)) instead of resuming")
    }
    return problems
  }
}

/// min / median / max of a measure over repeats.
public struct Spread: Sendable, Hashable, Codable {
  public var count: Int
  public var min: Double?
  public var median: Double?
  public var max: Double?

  public init(_ values: [Double]) {
    let sorted = values.sorted()
    count = sorted.count
    min = sorted.first
    median = DrillStatistics.percentile(sorted, 0.5)
    max = sorted.last
  }
}

/// A scenario over its repeats.
public struct DrillSummary: Sendable, Hashable, Codable {
  public var scenario: String
  public var runs: Int
  public var passed: Int
  public var mttd: Spread
  public var mttr: Spread
  public var unavailable: Spread
  public var lostWrites: Int
  public var violations: Int
  public var undecided: Int
  public var errors: Int
  public var unknowns: Int

  public init(scenario: String, runs: [DrillRun]) {
    self.scenario = scenario
    self.runs = runs.count
    passed = runs.filter(\.passed).count
    let episodes = runs.flatMap(\.episodes)
    mttd = Spread(episodes.compactMap(\.mttd))
    mttr = Spread(episodes.compactMap(\.mttr))
    unavailable = Spread(runs.map(\.workload.unavailableSeconds))
    lostWrites = runs.map(\.lostWrites.count).reduce(0, +)
    violations = runs.filter { $0.checker.status == .violation }.count
    undecided = runs.filter { $0.checker.status == .gaveUp }.count
    errors = runs.map(\.workload.failed).reduce(0, +)
    unknowns = runs.map(\.workload.unknown).reduce(0, +)
  }
}

public enum DrillStatistics {
  /// Nearest-rank percentile of sorted values (nil when empty).
  public static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
  }
}
