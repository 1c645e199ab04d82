import Foundation
import VigilConfig
import VigilCore
import VigilEtcd

extension Monitor {
  func membershipLoop(_ cluster: String) async {
    let name = Self.membershipLoopName(cluster)
    while !Task.isCancelled {
      try? await Task.sleep(for: configuration.scheduler.membershipInterval.duration)
      if Task.isCancelled { return }
      await liveness.checkpoint(name)
      if await guards(cluster) { await refreshMembership(cluster) }
      liveness.turned(name)
    }
  }

  /// One membership turn: the wait and one member-list call.
  func membershipPeriod(_ cluster: String) -> Duration {
    configuration.scheduler.membershipInterval.duration + membershipCallTimeout(cluster)
  }

  func membershipCallTimeout(_ cluster: String) -> Duration {
    let tier = clusters[cluster].flatMap { configuration.tiers[$0.config.tier] }
    return max(tier?.probeTimeout.duration ?? .seconds(1), .seconds(1))
  }

  /// Reads the member list; starts and stops member targets to match it.
  func refreshMembership(_ cluster: String) async {
    guard let guarded = clusters[cluster] else { return }
    let timeout = ProbeTargetFactory.timeAmount(membershipCallTimeout(cluster))
    guard let list = try? await guarded.client.withCallTimeout(timeout).cluster.list() else { return }
    let listed = list.map(ListedMember.init).sorted { $0.name < $1.name }
    let before = members[cluster] ?? []
    guard listed != before else { return }
    members[cluster] = listed
    // The cluster's client (probes, repair, inspections) follows the live voters: configured endpoints are
    // only the seed list, and members replaced under new addresses must not leave it pointing at the dead.
    await guarded.client.follow(listed.filter { !$0.isLearner }.compactMap(\.endpoint))
    let change = watch.listed(listed.map(\.watched), cluster: cluster, at: Self.now())
    let tier = configuration.tiers[guarded.config.tier] ?? TierConfig.defaults["P1"]!
    let probes = configuration.probes(for: guarded.config)
    var wanted: [String: ProbeTarget] = [:]
    for m in listed {
      guard let client = memberClient(cluster: cluster, m) else { continue }
      for t in ProbeTargetFactory.memberTargets(cluster: cluster, member: m, client: client, probes: probes, tier: tier) {
        wanted[t.key] = t
      }
    }
    for t in targets.values where t.cluster == cluster && t.member != nil {
      // A member whose role or address changed (learner promoted, replaced) gets its targets rebuilt.
      let old = before.first { $0.name == t.member }
      let new = listed.first { $0.name == t.member }
      if wanted[t.key] == nil || old != new { stopLoop(t.key) }
    }
    for (key, t) in wanted where targets[key] == nil { startLoop(t) }
    if let change { carryOut(change.directives) }
    if !before.isEmpty {
      logger.info(
        "membership changed",
        metadata: ["cluster": "\(cluster)", "members": "\(listed.map { $0.name + ($0.isLearner ? " (learner)" : "") })"])
    }
  }
}
