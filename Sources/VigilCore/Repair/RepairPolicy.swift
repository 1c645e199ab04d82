/// What to do about one fault.
public struct RepairRule: Sendable, Hashable, Codable {
  /// The runbook to run; nil: alert a person, change nothing.
  public var runbook: Runbook?
  /// How long the diagnosis must hold before acting (a partitioned member gets time to come back).
  public var grace: Duration
  /// A member still failed this long after the diagnosis is replaced instead (nil: never).
  public var replaceAfter: Duration?

  public init(_ runbook: Runbook?, grace: Duration = .zero, replaceAfter: Duration? = nil) {
    self.runbook = runbook
    self.grace = grace
    self.replaceAfter = replaceAfter
  }
}

/// The decision table from diagnosis to runbook, with per-tier overrides.
public struct RepairPolicy: Sendable, Hashable {
  public var rules: [Fault: RepairRule]
  /// Rules that replace the base rule for clusters of a tier.
  public var tierRules: [String: [Fault: RepairRule]]

  public init(rules: [Fault: RepairRule] = RepairPolicy.defaults, tierRules: [String: [Fault: RepairRule]] = [:]) {
    self.rules = rules
    self.tierRules = tierRules
  }

  /// Vigil's defaults: restart what crashed, unstick what hangs, replace what lost its data or stays
  /// gone, clear NOSPACE, move leadership off a slow disk; quorum loss and a leaderless cluster wait for a person.
  public static let defaults: [Fault: RepairRule] = [
    .crashed: RepairRule(.restartMember, replaceAfter: .seconds(120)),
    .hung: RepairRule(.unstickMember, replaceAfter: .seconds(120)),
    .partitioned: RepairRule(.replaceMember, grace: .seconds(300)),
    .dataLoss: RepairRule(.replaceMember),
    .corruption: RepairRule(.replaceMember),
    .noSpace: RepairRule(.clearNoSpace),
    .slowDisk: RepairRule(.moveLeader, grace: .seconds(10)),
    .noLeader: RepairRule(nil),
    .quorumLost: RepairRule(nil),
  ]

  /// The rule for `fault` in a cluster of `tier`.
  public func rule(for fault: Fault, tier: String) -> RepairRule {
    tierRules[tier]?[fault] ?? rules[fault] ?? RepairRule(nil)
  }
}

/// Limits on automatic repair.
public struct RepairSettings: Sendable, Hashable {
  public var policy = RepairPolicy()
  /// At most this many repairs start per cluster within ``rateWindow``.
  public var maxRepairsPerWindow = 6
  public var rateWindow: Duration = .seconds(600)
  /// More failed members than this in one cluster stops automatic repair there.
  public var stormMaxFailedMembers = 1
  /// More than this share of the fleet's clusters with a failed member stops automatic repair everywhere…
  public var stormFleetShare = 0.5
  /// …once the fleet has at least this many clusters.
  public var stormMinClusters = 3
  /// A failing repair is tried this many times in all, then escalated.
  public var maxAttempts = 3
  /// Wait before the second attempt; doubled for each later one.
  public var retryBackoff: Duration = .seconds(2)
  /// Defragment healthy clusters this often (nil: only when fragmentation is found).
  public var defragmentInterval: Duration?
  /// After a repair succeeded, its fault is left alone this long so the detector can see the member recover.
  public var settleTime: Duration = .seconds(10)
  /// Members failed this long count as lost for good when judging quorum loss (data intact or not).
  public var quorumLossGrace: Duration = .seconds(30)
  /// Whether a restore from backup runs at once (`auto`) or waits for a person (`approve`), by tier; the
  /// default for tiers not listed is ``restoreMode``.
  public var restoreMode: RepairMode = .approve
  public var restoreModeByTier: [String: RepairMode] = [:]
  /// A cluster with a standby whose voters' majority has failed this long is failed over (promote-standby)
  /// instead of restored, when ``preferFailover``.
  public var failoverAfter: Duration = .seconds(5)
  public var preferFailover = true
  /// Whether a failover Vigil proposes runs at once (`auto`) or waits for a person (`approve`).
  public var failoverMode: RepairMode = .approve

  public init() {}
}
