import Foundation
import VigilCore

/// Primary/standby pairs: which side serves, and switching it (promote-standby, by hand or by a person's
/// approval of Vigil's proposal).
extension RepairCoordinator {
  /// The pair `cluster` belongs to (its primary's name and its standby's), or nil.
  public func pair(of cluster: String) -> (primary: String, standby: String)? {
    if let standby = targets[cluster]?.config.standby { return (cluster, standby) }
    if let primary = targets.values.first(where: { $0.config.standby == cluster }) { return (primary.config.name, cluster) }
    return nil
  }

  /// The cluster serving `cluster`'s clients: the active side of its pair, or itself.
  public func activeSide(of cluster: String) -> String {
    guard let pair = pair(of: cluster) else { return cluster }
    return active[pair.primary]?.active ?? pair.primary
  }

  /// Every pair, with its active side (as configured until a failover changes it).
  public func pairs() -> [ActiveSide] {
    targets.values.filter { $0.config.standby != nil }.map { t in
      active[t.config.name]
        ?? ActiveSide(cluster: t.config.name, active: t.config.name, fenced: nil, changedAt: 0, changedBy: "configuration", planID: nil)
    }.sorted { $0.cluster < $1.cluster }
  }

  /// The side `cluster` could fail over to: its pair's other side, when `cluster` serves and the mirror into
  /// the other side runs.
  func failoverTarget(of cluster: String) async -> String? {
    guard let pair = pair(of: cluster), activeSide(of: cluster) == cluster, let mirror = targets[pair.primary]?.mirror else {
      return nil
    }
    let status = await mirror.status
    guard status.phase == .mirroring, status.active == cluster else { return nil }
    return status.standby
  }

  /// Switches `cluster`'s pair to its other side now (a person's failover or failback): runs promote-standby
  /// and returns when it ends.
  /// - Throws: ``RepairRequestError`` when the cluster has no standby, a plan already runs on the pair, or the
  ///   side to fence is not monitored.
  public func failover(cluster: String, by person: String, reason: String) async throws -> RepairPlan {
    try known(cluster)
    try await ownedHere(cluster)
    guard let pair = pair(of: cluster) else {
      throw RepairRequestError("\(cluster) has no standby (set clusters[].standby to fail over)", status: 409)
    }
    guard targets[pair.primary]?.mirror != nil else {
      throw RepairRequestError("\(pair.primary) has no standby mirror running", status: 409)
    }
    if running[pair.primary] != nil || switching.contains(pair.standby) {
      throw RepairRequestError("a plan is already running on \(pair.primary): one plan per cluster at a time", status: 409)
    }
    let from = activeSide(of: pair.primary)
    let to = from == pair.primary ? pair.standby : pair.primary
    guard let view = await watch.repairView(cluster: from) else {
      throw RepairRequestError("cluster \"\(from)\" is not monitored", status: 404)
    }
    var draft = RepairPlan(
      cluster: pair.primary, member: nil, runbook: .promoteStandby, fault: nil,
      reason: reason.isEmpty ? "failover from \(from) to \(to) by \(person)" : reason,
      incidentID: view.incidents[from], requestedBy: person, state: .ready, at: Self.now(), steps: [])
    draft.decidedBy = person
    draft.context["from"] = from
    draft.context["to"] = to
    let plan = try await newPlan(draft, view: view, members: view.members.filter { !$0.isLearner }.map(\.name))
    return try await launchAndWait(plan, by: person)
  }

  /// promote-standby's switch: the new active side, kept across restarts.
  func recordSwitch(_ plan: RepairPlan) async throws {
    guard let from = plan.context["from"], let to = plan.context["to"] else { return }
    let side = ActiveSide(
      cluster: plan.cluster, active: to, fenced: from, changedAt: Self.now(), changedBy: plan.decidedBy ?? plan.requestedBy,
      planID: plan.id)
    try await store.setActive(side)
    active[plan.cluster] = side
    logger.notice("active side switched", metadata: ["cluster": "\(plan.cluster)", "active": "\(to)", "fenced": "\(from)"])
  }
}
