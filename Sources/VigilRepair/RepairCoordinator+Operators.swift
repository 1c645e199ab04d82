import Foundation
import VigilCore
import VigilStore

/// What people do: approve or reject plans, pause and resume a cluster, run a runbook by hand.
extension RepairCoordinator {
  /// Approves a plan that waits for approval and runs it.
  public func approve(plan id: Int64, by person: String) async throws -> RepairPlan {
    var plan = try await waiting(id)
    awaiting.remove(plan.cluster)
    claimed.insert(plan.id)  // launched below: not a plan left over for tick() to resume
    plan.state = .ready
    plan.decidedBy = person
    plan.updatedAt = Self.now()
    try await store.update(plan: plan)
    await audit(
      AuditEntry(
        at: Self.now(), actor: person, action: "approved", cluster: plan.cluster, subject: subject(plan),
        incidentID: plan.incidentID, planID: plan.id, runbook: plan.runbook.rawValue, result: "approved",
        reason: plan.reason))
    launch(plan, actor: person, key: nil)
    return plan
  }

  /// Rejects a plan that waits for approval; the fault is not planned for again until it clears.
  public func reject(plan id: Int64, by person: String, reason: String) async throws -> RepairPlan {
    var plan = try await waiting(id)
    awaiting.remove(plan.cluster)
    claimed.remove(plan.id)
    plan.state = .rejected
    plan.decidedBy = person
    plan.outcome = reason.isEmpty ? "rejected by \(person)" : reason
    plan.finishedAt = Self.now()
    plan.updatedAt = plan.finishedAt!
    try await store.update(plan: plan)
    if let key = keys[plan.id] { planner.rejected(key) }
    metrics.repairEnded(cluster: plan.cluster, runbook: plan.runbook.rawValue, outcome: "rejected", seconds: nil)
    await audit(
      AuditEntry(
        at: Self.now(), actor: person, action: "rejected", cluster: plan.cluster, subject: subject(plan),
        incidentID: plan.incidentID, planID: plan.id, runbook: plan.runbook.rawValue, result: "rejected",
        reason: plan.outcome ?? ""))
    wakeup.wake()
    return plan
  }

  func waiting(_ id: Int64) async throws -> RepairPlan {
    guard let plan = try await store.plan(id: id) else { throw RepairRequestError("no plan #\(id)", status: 404) }
    guard plan.state == .awaitingApproval else {
      throw RepairRequestError("plan #\(id) is \(plan.state.rawValue), not awaiting approval", status: 409)
    }
    return plan
  }

  /// Stops automatic repair of `cluster` (a running plan finishes; no new ones are made). Kept across restarts.
  public func pause(cluster: String, by person: String, reason: String) async throws {
    try known(cluster)
    paused.insert(cluster)
    metrics.repairPaused(cluster: cluster, true)
    try await store.setPaused(cluster: cluster, true, by: person, at: Self.now())
    await audit(
      AuditEntry(
        at: Self.now(), actor: person, action: "paused", cluster: cluster, subject: cluster, result: "paused",
        reason: reason))
  }

  /// Resumes automatic repair of `cluster`; faults escalated before may be planned again.
  public func resume(cluster: String, by person: String, reason: String) async throws {
    try known(cluster)
    paused.remove(cluster)
    metrics.repairPaused(cluster: cluster, false)
    planner.resume(cluster: cluster)
    try await store.setPaused(cluster: cluster, false, by: person, at: Self.now())
    await audit(
      AuditEntry(
        at: Self.now(), actor: person, action: "resumed", cluster: cluster, subject: cluster, result: "resumed",
        reason: reason))
    wakeup.wake()
  }

  func known(_ cluster: String) throws {
    guard targets[cluster] != nil else {
      throw RepairRequestError(
        "unknown cluster \"\(cluster)\" (configured: \(targets.keys.sorted().joined(separator: ", ")))", status: 404)
    }
  }

  /// Runs `runbook` by hand through the same guards; returns the plan when it has finished.
  /// - Parameter dryRun: only write the plan out.
  public func run(
    _ runbook: Runbook, cluster: String, member: String?, by person: String, reason: String, dryRun: Bool = false
  ) async throws -> RepairPlan {
    try known(cluster)
    try await ownedHere(cluster)
    // A failover names its two sides: it has a request of its own (a plan without them would wait forever).
    if runbook == .promoteStandby {
      throw RepairRequestError(
        "runbook promote-standby is run by a failover: vigil failover --cluster \(cluster) (POST /v1/clusters/\(cluster)/failover)",
        status: 409)
    }
    guard let view = await watch.repairView(cluster: cluster) else {
      throw RepairRequestError("cluster \"\(cluster)\" is not monitored", status: 404)
    }
    if runbook.needsMember {
      guard let member else {
        throw RepairRequestError("runbook \(runbook.rawValue) needs --member (members: \(view.members.map(\.name).joined(separator: ", ")))")
      }
      guard view.members.contains(where: { $0.name == member }) else {
        throw RepairRequestError(
          "member: \"\(member)\" is not a member of \(cluster) (members: \(view.members.map(\.name).joined(separator: ", ")))",
          status: 404)
      }
    }
    if runbook.needsRuntime, targets[cluster]?.runtime == nil {
      throw RepairRequestError("\(runbook.rawValue) needs a runtime driver and \(cluster) has none (runtime: external)", status: 409)
    }
    if running[cluster] != nil {
      throw RepairRequestError("a plan is already running on \(cluster): one plan per cluster at a time", status: 409)
    }
    let subjectName = Subject(cluster: cluster, member: member).key
    var draft = RepairPlan(
      cluster: cluster, member: runbook.needsMember ? member : nil, runbook: runbook, fault: nil,
      reason: reason.isEmpty ? "run by \(person)" : reason, incidentID: view.incidents[subjectName] ?? view.incidents[cluster],
      requestedBy: person, state: dryRun ? .dryRun : .ready, at: Self.now(), steps: [])
    draft.decidedBy = person
    let plan = try await newPlan(draft, view: view)
    if dryRun { return plan }
    return try await launchAndWait(plan, by: person)
  }

  /// Starts a person's plan and returns it as it ended (or as it stands when the request is cancelled).
  func launchAndWait(_ plan: RepairPlan, by person: String) async throws -> RepairPlan {
    launch(plan, actor: person, key: nil)
    if let control = running[plan.cluster] {
      while !control.isStopped && !Task.isCancelled { await control.wakeup.wait(.seconds(5)) }
    }
    return try await store.plan(id: plan.id) ?? plan
  }

  /// Clusters whose automatic repair is paused.
  public var pausedClusters: [String] { paused.sorted() }

  /// Faults escalated to a person, as planner keys (`cluster/member/fault`).
  public var escalations: [String] { planner.escalated }
}
