import Foundation
import Logging
import VigilBackup
import VigilConfig
import VigilCore
import VigilEtcd
import VigilLoops
import VigilRuntime
import VigilStore

/// What the coordinator needs about one guarded cluster.
public struct RepairTarget: Sendable {
  public var config: ClusterConfig
  public var client: EtcdClient
  /// Nil for a cluster Vigil cannot start or stop members of (runtime: external).
  public var runtime: (any MemberRuntime)?
  /// The cluster's backups (nil: backups are off).
  public var backup: ClusterBackup?
  /// The mirror into its standby (a primary with `standby:`), which a failover drains and turns around.
  public var mirror: StandbyMirror?

  public init(config: ClusterConfig, client: EtcdClient, runtime: (any MemberRuntime)?, backup: ClusterBackup? = nil) {
    self.config = config
    self.client = client
    self.runtime = runtime
    self.backup = backup
  }
}

/// A request that cannot be carried out, with the reason (for the CLI and the API).
public struct RepairRequestError: Error, CustomStringConvertible, Sendable {
  public var message: String
  /// 404 for something that does not exist, 409 for a conflict, 400 for bad input.
  public var status: Int
  public init(_ message: String, status: Int = 400) {
    self.message = message
    self.status = status
  }
  public var description: String { message }
}

/// The repair loop: reads each cluster's view from detection (``RepairWatch``), asks the
/// pure ``RepairPlanner`` what to do, and makes, journals and runs plans (at
/// most one per cluster) by the cluster's mode. Plans left running by a
/// previous process are resumed at start. People drive it through
/// approve/reject/pause/resume and manual runs.
public actor RepairCoordinator {
  public nonisolated let store: HistoryStore
  /// Detection, as repair sees it (the monitor).
  let watch: any RepairWatch
  /// Where the coordinator's loop reports its turns.
  let liveness: Liveness
  let metrics: RepairMetrics
  let targets: [String: RepairTarget]
  let config: RepairConfig
  let snapshotDir: String
  /// What restores need beyond the store (lease TTL, revision margin).
  let restoreSettings: RestoreSettings
  let logger: Logger
  var planner: RepairPlanner
  /// The plan running on each cluster (one at a time); stopped with the coordinator.
  var running: [String: LoopControl] = [:]
  var keys: [Int64: String] = [:]
  var paused: Set<String> = []
  /// Clusters with a plan waiting for approval (they get no other plan meanwhile).
  var awaiting: Set<String> = []
  /// Both sides of a pair while a promote-standby plan runs (no other plan touches them meanwhile).
  var switching: Set<String> = []
  /// Pairs whose active side a failover changed (the rest serve from their configured primary).
  var active: [String: ActiveSide] = [:]
  /// Plans to run in the running task group.
  var spawn: AsyncStream<@Sendable () async -> Void>.Continuation?
  var jobs: AsyncStream<@Sendable () async -> Void>?
  /// The task running ``runLoop()`` when started with ``start()`` rather than ``run()``.
  var runner: Task<Void, Never>?
  var started = false
  let wakeup = Wakeup()
  /// The last 100 plans finished since start.
  public private(set) var finishedPlans: [RepairPlan] = []
  /// With several replicas: which clusters this replica may repair, and the fence each step passes.
  var ownership: RepairOwnership?
  /// Clusters whose plan a fence stopped: not resumed here before then (the management etcd may be away).
  var resumeNotBefore: [String: ContinuousClock.Instant] = [:]
  /// Plans this process made or is running: never "left unfinished" for ``tick()`` to resume (between a
  /// plan's insert and its launch the actor may run a tick).
  var claimed: Set<Int64> = []

  public init(
    watch: any RepairWatch, liveness: Liveness, metrics: RepairMetrics, targets: [RepairTarget], store: HistoryStore,
    config: RepairConfig, stateDir: String, restore: RestoreSettings = RestoreSettings(),
    logger: Logger = Logger(label: "vigil.repair")
  ) {
    self.restoreSettings = restore
    self.watch = watch
    self.liveness = liveness
    self.metrics = metrics
    self.targets = Dictionary(uniqueKeysWithValues: targets.map { ($0.config.name, $0) })
    self.store = store
    self.config = config
    self.snapshotDir = stateDir + "/snapshots"
    self.logger = logger
    self.planner = RepairPlanner(settings: config.settings)
  }

  static func now() -> Double { Date().timeIntervalSince1970 }

  // MARK: lifecycle

  /// Resumes plans a previous run left unfinished, then runs the loop and every plan as children of this
  /// task until it is cancelled (the service group's graceful shutdown cancels it). Plans cut off stay
  /// `running` in the journal and resume at the next start.
  public func run() async {
    guard await prepare() else { return }
    await runLoop()
    finish()
  }

  /// Starts the loop in a task of its own and returns (drills, tests, benchmarks); ``stop()`` ends it.
  public func start() async {
    guard await prepare() else { return }
    runner = Task { await self.runLoop() }
  }

  /// Stops the loop and the running plans (they stay `running` in the journal and resume at the next start).
  public func stop() async {
    guard let runner else { return }
    runner.cancel()
    await runner.value
    self.runner = nil
    finish()
  }

  func prepare() async -> Bool {
    guard !started else { return false }
    started = true
    let (jobs, spawn) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
    self.jobs = jobs
    self.spawn = spawn
    paused = (try? await store.pausedClusters()) ?? []
    active = (try? await store.activeSides()) ?? [:]
    awaiting = Set(((try? await store.plans(states: [.awaitingApproval], limit: 1000)) ?? []).map(\.cluster))
    for name in targets.keys { metrics.repairPaused(cluster: name, paused.contains(name)) }
    // With several replicas, a plan resumes on the replica that owns its cluster, once it does (``tick()``).
    let unfinished = ownership == nil ? (try? await store.plans(states: [.running, .ready], limit: 1000)) ?? [] : []
    for plan in unfinished.sorted(by: { $0.id < $1.id }) {
      guard running[plan.cluster] == nil else {
        await abandon(plan, "another plan of \(plan.cluster) is running")
        continue
      }
      await resume(plan)
    }
    let liveness = self.liveness
    // One turn: the wait and a tick, whose audit and plan writes may wait on the store.
    liveness.register(Self.loopName, period: Self.tickInterval + .seconds(6))
    spawn.yield { [weak self] in
      while !Task.isCancelled {
        guard let self else { return }
        await liveness.checkpoint(Self.loopName)
        await self.tick()
        liveness.turned(Self.loopName)
        await self.wakeup.wait(Self.tickInterval)
      }
    }
    return true
  }

  /// The tick loop and every plan, each a child of one task group; returns once cancelled and all ended.
  func runLoop() async {
    guard let jobs else { return }
    await withDiscardingTaskGroup { group in
      for await job in jobs { group.addTask { await job() } }
    }
  }

  func finish() {
    spawn?.finish()
    spawn = nil
    jobs = nil
    started = false
    liveness.remove(Self.loopName)
    running = [:]
  }

  /// True while the loop runs.
  public var isStarted: Bool { started }

  /// The coordinator's loop as `/healthz` names it.
  public static let loopName = "repair"
  static let tickInterval: Duration = .milliseconds(200)

  /// A plan found unfinished at start: check the cluster is the same one, then finish it.
  func resume(_ plan: RepairPlan) async {
    guard let target = targets[plan.cluster] else {
      await abandon(plan, "cluster \(plan.cluster) is no longer configured")
      return
    }
    if let recorded = plan.context["clusterID"] {
      let current = try? await target.client.withCallTimeout(.seconds(2)).maintenance.status().clusterID
      if let current, String(current, radix: 16) != recorded {
        await abandon(plan, "cluster \(plan.cluster) was recreated (id \(String(current, radix: 16)), plan was for \(recorded))")
        return
      }
    }
    await audit(
      AuditEntry(
        at: Self.now(), actor: "vigil", action: "resumed-plan", cluster: plan.cluster, subject: subject(plan),
        incidentID: plan.incidentID, planID: plan.id, runbook: plan.runbook.rawValue,
        step: plan.nextStepIndex.map { plan.steps[$0].label }, result: "resuming",
        reason: ownership.map {
          "replica \($0.replica) owns \(plan.cluster) now and resumes the plan its last owner left unfinished; each step checks the cluster's real state before acting"
        } ?? "Vigil restarted with this plan unfinished; each step checks the cluster's real state before acting"))
    launch(plan, actor: plan.decidedBy ?? "vigil", key: nil)
  }

  func abandon(_ plan: RepairPlan, _ reason: String) async {
    var p = plan
    p.state = .abandoned
    p.outcome = reason
    p.finishedAt = Self.now()
    p.updatedAt = p.finishedAt!
    try? await store.update(plan: p)
    await audit(
      AuditEntry(
        at: Self.now(), actor: "vigil", action: "abandoned", cluster: p.cluster, subject: subject(p),
        incidentID: p.incidentID, planID: p.id, runbook: p.runbook.rawValue, result: "abandoned", reason: reason))
  }

  // MARK: the loop

  func tick() async {
    // Clusters with a plan left unfinished in the shared store: no new plan for them, the left one resumes.
    var unfinished: Set<String> = []
    if let ownership {
      // Plans left unfinished (by this replica before a restart, or by one that died, in a shared store)
      // resume where their cluster is owned now.
      let left = (try? await store.plans(states: [.running, .ready], limit: 1000)) ?? []
      unfinished = Set(left.filter { !claimed.contains($0.id) }.map(\.cluster))
      for plan in left.sorted(by: { $0.id < $1.id })
      where running[plan.cluster] == nil && targets[plan.cluster] != nil && !claimed.contains(plan.id)
        && (resumeNotBefore[plan.cluster].map { ContinuousClock.now >= $0 } ?? true)
      {
        guard await ownership.owns(plan.cluster) else { continue }
        if Self.now() - plan.updatedAt > 600 {
          // Stopped by the fence long ago: what it was for has been seen to by the owner since.
          await abandon(plan, "stopped by the fence more than 10 minutes ago; the cluster is planned for afresh")
        } else {
          await resume(plan)
        }
      }
    }
    var views: [ClusterRepairView] = []
    for name in targets.keys.sorted() {
      // Another replica's cluster: it plans and repairs it (this one only watches).
      if let ownership, await !ownership.owns(name) { continue }
      guard var view = await watch.repairView(cluster: name) else { continue }
      view.mode = mode(of: name)
      view.busy = running[name] != nil || awaiting.contains(name) || switching.contains(name) || unfinished.contains(name)
      view.failoverTo = await failoverTarget(of: name)
      views.append(view)
    }
    let decisions = planner.decide(views, now: Self.now())
    for d in decisions {
      switch d {
      case .plan(let request):
        guard let view = views.first(where: { $0.cluster == request.cluster }) else { continue }
        await make(request, view: view)
      case .escalate(let cluster, let subject, let reason, let incident):
        logger.warning("repair escalated to a person", metadata: ["cluster": "\(cluster)", "subject": "\(subject)", "reason": "\(reason)"])
        metrics.repairEscalated(cluster: cluster)
        await audit(
          AuditEntry(
            at: Self.now(), actor: "vigil", action: "escalated", cluster: cluster, subject: subject, incidentID: incident,
            result: "waiting for a person", reason: reason))
        if let incident { await watch.recordRepair(incident: incident, text: "escalated: \(reason)", at: Self.now(), recovered: false) }
      case .refuse(let cluster, let subject, let reason, let incident):
        await audit(
          AuditEntry(
            at: Self.now(), actor: "vigil", action: "refused", cluster: cluster, subject: subject, incidentID: incident,
            result: "refused", reason: reason))
        if let incident { await watch.recordRepair(incident: incident, text: "refused: \(reason)", at: Self.now(), recovered: false) }
      }
    }
  }

  func mode(of cluster: String) -> RepairMode {
    if paused.contains(cluster) { return .paused }
    return targets[cluster]?.config.repairMode ?? config.mode
  }

  /// Makes a plan for `request` and, by the cluster's mode, runs it, holds it for approval or only writes it.
  func make(_ request: RepairRequest, view: ClusterRepairView) async {
    let mode = mode(of: request.cluster)
    var missing: String?
    if request.runbook.needsRuntime, targets[request.cluster]?.runtime == nil {
      missing = "\(request.runbook.rawValue) needs a runtime driver and \(request.cluster) has none (runtime: external)"
    } else if request.runbook == .restoreCluster, targets[request.cluster]?.backup == nil {
      missing = "restore-cluster needs backups and \(request.cluster) has none (backup.enabled: false)"
    }
    if let missing {
      planner.rejected(request.key)
      metrics.repairEscalated(cluster: request.cluster)
      let reason = "\(request.reason); \(missing)"
      await audit(
        AuditEntry(
          at: Self.now(), actor: "vigil", action: "escalated", cluster: request.cluster,
          subject: Subject(cluster: request.cluster, member: request.member).key, incidentID: request.incidentID,
          runbook: request.runbook.rawValue, result: "waiting for a person", reason: reason))
      if let incident = request.incidentID {
        await watch.recordRepair(incident: incident, text: "escalated: \(reason)", at: Self.now(), recovered: false)
      }
      return
    }
    let state: PlanState =
      switch mode {
      case .auto: request.requiresApproval ? .awaitingApproval : .ready
      case .approve: .awaitingApproval
      case .dryRun, .paused: .dryRun
      }
    var draft = RepairPlan(
      cluster: request.cluster, member: request.member, runbook: request.runbook, fault: request.fault,
      reason: request.reason, incidentID: request.incidentID, requestedBy: "vigil", state: state, at: Self.now(),
      attempt: request.attempt, steps: [])
    if request.runbook == .promoteStandby {
      // A failover is the pair's plan: it runs under the primary's name, from this side to the other.
      guard let pair = pair(of: request.cluster), let to = view.failoverTo else { return }
      draft.cluster = pair.primary
      draft.context["from"] = request.cluster
      draft.context["to"] = to
    }
    let plan: RepairPlan
    do {
      plan = try await newPlan(draft, view: view, members: request.members, since: request.since)
    } catch {
      logger.error("cannot store a repair plan", metadata: ["cluster": "\(request.cluster)", "error": "\(error)"])
      return
    }
    keys[plan.id] = request.key
    let summary = "\(plan.runbook.rawValue) #\(plan.id)\(plan.member.map { " on \($0)" } ?? "") (\(mode.rawValue), attempt \(plan.attempt)): \(plan.steps.map(\.label).joined(separator: " → "))"
    if let incident = plan.incidentID {
      await watch.recordRepair(incident: incident, text: "plan \(summary)", at: Self.now(), recovered: false)
    }
    logger.info(
      "repair planned",
      metadata: ["cluster": "\(plan.cluster)", "plan.id": "\(plan.id)", "runbook": "\(plan.runbook.rawValue)", "mode": "\(mode.rawValue)"])
    if state == .ready { launch(plan, actor: "vigil", key: request.key) }
    if state == .dryRun {
      metrics.repairEnded(cluster: plan.cluster, runbook: plan.runbook.rawValue, outcome: "dry-run", seconds: nil)
    }
  }

  /// Fills in `draft`'s steps from the cluster's followers and leader, stores it and audits it.
  func newPlan(_ draft: RepairPlan, view: ClusterRepairView, members: [String] = [], since: Double? = nil) async throws
    -> RepairPlan
  {
    var plan = draft
    let followers = view.members.filter { !$0.isLearner && !$0.isLeader }.map(\.name)
    let leader = view.members.first { $0.isLeader }?.name
    plan.steps = plan.runbook.steps(member: plan.member, followers: followers, leader: leader, members: members)
    if !members.isEmpty {
      // Cluster-wide plans carry their members' URLs as last listed: a restore must find members none of
      // which answers.
      plan.context["members"] = members.joined(separator: ",")
      for m in view.members where members.contains(m.name) {
        if let peer = m.peerURL { plan.context["peer.\(m.name)"] = peer }
        if let client = m.clientURL { plan.context["client.\(m.name)"] = client }
      }
      if plan.runbook == .restoreCluster { plan.context["voters"] = String(members.count) }
    }
    if let since { plan.context["since"] = String(since) }
    if plan.state == .dryRun {
      plan.outcome = "dry-run: written out, nothing changed"
      plan.finishedAt = plan.createdAt
    }
    plan = try await store.insert(plan: plan)
    claimed.insert(plan.id)
    if plan.state == .awaitingApproval { awaiting.insert(plan.cluster) }
    await audit(
      AuditEntry(
        at: Self.now(), actor: plan.requestedBy, action: "plan", cluster: plan.cluster, subject: subject(plan),
        incidentID: plan.incidentID, planID: plan.id, runbook: plan.runbook.rawValue,
        inputs: plan.steps.map(\.label).joined(separator: " → "), result: plan.state.rawValue, reason: plan.reason))
    return plan
  }

  func launch(_ plan: RepairPlan, actor: String, key: String?) {
    guard var target = targets[plan.cluster] else { return }
    var failover: FailoverSides?
    if plan.runbook == .promoteStandby {
      // The runner fences the old side through its runtime and talks to the new side.
      guard let from = plan.context["from"], let to = plan.context["to"], let old = targets[from], let new = targets[to],
        let mirror = target.mirror
      else { return }
      target = RepairTarget(config: old.config, client: new.client, runtime: old.runtime)
      failover = FailoverSides(pair: plan.cluster, from: from, to: to, mirror: mirror) { [weak self] plan in
        try await self?.recordSwitch(plan)
      }
      failover?.drainTimeout = restoreSettings.failoverDrainTimeout
      switching.formUnion([from, to])
    }
    let watch = self.watch
    var runner = PlanRunner(
      cluster: target.config, client: target.client, runtime: target.runtime, store: store, settings: config,
      snapshotDir: snapshotDir, logger: logger
    ) { plan, text, recovered in
      guard let incident = plan.incidentID else { return }
      await watch.recordRepair(incident: incident, text: text, at: Date().timeIntervalSince1970, recovered: recovered)
    }
    runner.backup = target.backup
    runner.restoreSettings = restoreSettings
    runner.failover = failover
    if let ownership {
      runner.fence = { plan, step in try await ownership.fence(plan.cluster, "\(plan.cluster)/\(plan.id)/\(step)") }
      runner.replica = ownership.replica.isEmpty ? nil : ownership.replica
    }
    let planRunner = runner
    let control = LoopControl()
    running[plan.cluster] = control
    claimed.insert(plan.id)
    spawn?.yield { [weak self] in
      let finished = await planRunner.run(plan, actor: actor)
      await self?.ended(finished, key: key)
      control.stop()
    }
  }

  func ended(_ plan: RepairPlan, key: String?) async {
    running[plan.cluster] = nil
    claimed.remove(plan.id)
    if plan.runbook == .promoteStandby {
      switching.subtract([plan.context["from"], plan.context["to"]].compactMap { $0 })
    }
    guard plan.state.isFinished else {
      // Cancelled while shutting down (resumes at the next start), or stopped by the fence (resumes where
      // the cluster is owned; here, not before 2 s).
      if ownership != nil { resumeNotBefore[plan.cluster] = ContinuousClock.now + .seconds(2) }
      return
    }
    if let ownership { await ownership.ended(plan.cluster, plan.id) }
    let took = plan.steps.compactMap(\.startedAt).min().flatMap { first in plan.finishedAt.map { $0 - first } }
    metrics.repairEnded(cluster: plan.cluster, runbook: plan.runbook.rawValue, outcome: plan.state.rawValue, seconds: took)
    finishedPlans.append(plan)
    if finishedPlans.count > 100 { finishedPlans.removeFirst(finishedPlans.count - 100) }
    if let key = key ?? keys[plan.id] { planner.finished(key, succeeded: plan.state == .succeeded, at: Self.now()) }
    if plan.runbook == .restoreCluster, plan.steps.contains(where: { $0.action == .startAll && $0.state == .done }) {
      // Every incident the quorum loss opened (the cluster's, each lost member's, a survivor whose data dir the
      // fence retired) is the one the restore repaired: each gets its outcome, RPO included, and its MTTR.
      if plan.state == .succeeded {
        var ids = Set((await watch.repairView(cluster: plan.cluster))?.incidents.values.map { $0 } ?? [])
        // Those that closed while the restore ran are in the store only.
        let since = (plan.context["since"].flatMap(Double.init) ?? plan.createdAt) - 30
        for i in (try? await store.incidents(cluster: plan.cluster, limit: 50)) ?? []
        where i.recoveredAt == nil && i.fault != nil && i.openedAt >= since {
          ids.insert(i.id)
        }
        if let own = plan.incidentID { ids.remove(own) }
        let replay = plan.steps.first { $0.action == .replayChangeLog }?.detail ?? ""
        for id in ids.sorted() {
          await watch.recordRepair(
            incident: id, text: "restore-cluster #\(plan.id) succeeded: \(replay)", at: plan.finishedAt ?? Self.now(),
            recovered: true)
        }
      }
      await watch.clusterRebuilt(cluster: plan.cluster)  // new member and cluster ids are not a fault
    }
    await watch.refreshNow(cluster: plan.cluster)
    wakeup.wake()
  }

  func audit(_ entry: AuditEntry) async {
    do { try await store.append(audit: entry) } catch {
      logger.error("cannot append to the audit log", metadata: ["error": "\(error)"])
    }
  }

  func subject(_ plan: RepairPlan) -> String { Subject(cluster: plan.cluster, member: plan.member).key }
}
