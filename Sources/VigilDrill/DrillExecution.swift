import Foundation
import Logging
import NIOCore
import VigilConfig
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilOracle
import VigilStore

/// One run in progress: injects the scenario's faults while the workload runs,
/// waits for the cluster to be verified healthy after each, then gathers what
/// Vigil recorded and judges the run.
actor DrillExecution {
  let scenario: DrillScenario
  let cluster: LocalCluster
  let network: TestNetwork
  let admin: DrillAdmin
  let config: VigilConfiguration
  let logger: Logger
  /// The Vigil guarding the cluster: alone, or the replica that owns it now.
  private(set) var vigil: GuardUnderTest
  /// Vigil's live replicas, for the drills that run several (empty otherwise), and their links to the
  /// management etcd.
  private(set) var replicas: [GuardUnderTest]
  let links: ReplicaLinks?
  /// Starts another replica (vigil-churn).
  let moreReplicas: DrillRunner.ReplicaFactory?
  let origin = ContinuousClock.now
  let wallStart = Date().timeIntervalSince1970
  let voters: Int
  /// The standby site, for the drills that have one.
  let sites: DrillSites?
  /// Clients of the whole cluster, which follow its membership after each episode (as Vigil's own do).
  var following: [EtcdClient] = []
  /// The primary's revision when the workload started (keys created later were mirrored change by change).
  var since: Int64 = 0

  init(
    scenario: DrillScenario, cluster: LocalCluster, network: TestNetwork, admin: DrillAdmin, config: VigilConfiguration,
    logger: Logger, vigil: GuardUnderTest, sites: DrillSites? = nil, replicas: [GuardUnderTest] = [],
    links: ReplicaLinks? = nil, moreReplicas: DrillRunner.ReplicaFactory? = nil
  ) {
    self.scenario = scenario
    self.cluster = cluster
    self.network = network
    self.admin = admin
    self.config = config
    self.logger = logger
    self.vigil = vigil
    self.replicas = replicas
    self.links = links
    self.moreReplicas = moreReplicas
    self.sites = sites
    self.voters = sites == nil ? network.hosts.count : network.hosts.count / 2
  }

  /// The local clusters Vigil guards, by name (the drill's, and its standby's).
  var clusters: [String: LocalCluster] {
    var all = [clusterName: cluster]
    if let sites { all[sites.standbyName] = sites.standby }
    return all
  }

  nonisolated func now() -> Double { (ContinuousClock.now - origin).seconds }
  nonisolated func relative(_ epoch: Double) -> Double { epoch - wallStart }
  var clusterName: String { config.clusters[0].name }

  func perform(repeatIndex: Int, seed: UInt64, warmup: Duration, cooldown: Duration, recoveryTimeout: Duration)
    async throws -> DrillOutcome
  {
    if !replicas.isEmpty {
      guard try await wait(timeout: .seconds(60), { await self.owner() != nil }), let owner = await owner() else {
        throw DrillError("no replica of Vigil guarded the cluster within 60 s")
      }
      vigil = owner
    }
    guard try await wait(timeout: .seconds(90), { await self.vigilSeesHealthy() }) else {
      throw DrillError("Vigil did not see the fresh cluster healthy within 90 s")
    }
    if scenario.expect.runbook == .restoreCluster {
      // A restore needs a verified backup: the first one is taken and verified when Vigil starts.
      let backups = vigil.engine.backups
      let name = clusterName
      guard try await wait(timeout: .seconds(90), { await backups.clusters[name]?.status.lastVerified != nil }) else {
        throw DrillError("Vigil had no verified backup of the fresh cluster within 90 s")
      }
    }
    // The proxy follows the pair's published endpoints (as `vigil proxy` does), through Vigil's restarts.
    let proxyFollow = sites.map { sites in
      Task { await sites.proxy.follow(every: .milliseconds(100)) { await self.publishedBackends() } }
    }
    defer { proxyFollow?.cancel() }
    if sites != nil {
      let name = clusterName
      guard try await wait(timeout: .seconds(90), { await self.mirrorCaughtUp(from: name) }) else {
        throw DrillError("Vigil's mirror did not seed the standby and catch up within 90 s")
      }
      since = try await admin.whole.kv.range(MirrorPosition.heartbeatKey, keysOnly: true).revision
    }
    var random = SeededRandom(seed: seed)
    let recorder = WorkloadRecorder(origin: origin)
    var clients: [WorkloadRecorder.Client] = []
    for m in await cluster.members {
      // With a standby site, the primary's members are named by site: they are written to until the fence.
      let name = sites == nil ? m.name : "\(m.name)@\(clusterName)"
      clients.append(.init(name: name, client: try EtcdClient(configuration: EtcdClientConfiguration(endpoints: [m.clientEndpoint]))))
    }
    // The whole-cluster clients: to every member, or through the proxy when there are two sites.
    let endpoints = await cluster.endpoints
    let wholeCluster = try sites?.proxyClient() ?? EtcdClient(configuration: EtcdClientConfiguration(endpoints: endpoints))
    clients.append(.init(name: "cluster", client: wholeCluster))
    let watcher = try sites?.proxyClient() ?? EtcdClient(configuration: EtcdClientConfiguration(endpoints: endpoints))
    self.following = sites == nil ? [admin.whole, wholeCluster, watcher] : []
    let sentinel = RevisionSentinel()
    // Two sites run six members and the mirror on the same cores: their workload goes at half the pace — at a
    // third in a debug build (the test command's), whose mirror applies several times slower.
    let pace: Duration = sites == nil ? .milliseconds(20) : DrillSites.workloadPace
    let workload = Task { await recorder.run(clients, seed: seed, pace: pace) }
    let revisions = Task { await sentinel.run(reads: wholeCluster, watch: watcher, prefix: WorkloadRecorder.prefix) }
    let churn = sites.map { _ in Task { await MirrorChurn().run(wholeCluster) } }
    var episodes: [DrillEpisode] = []
    do {
      try await Task.sleep(for: warmup)
      episodes = try await inject(random: &random, timeout: recoveryTimeout)
      try await Task.sleep(for: cooldown)
    } catch {
      workload.cancel()
      revisions.cancel()
      churn?.cancel()
      await workload.value
      await revisions.value
      await churn?.value
      for c in clients { await c.client.shutdown() }
      await watcher.shutdown()
      throw error
    }
    workload.cancel()
    revisions.cancel()
    churn?.cancel()
    await workload.value
    await revisions.value
    await churn?.value
    for c in clients { await c.client.shutdown() }
    await watcher.shutdown()
    let final = try await finalReads(recorder)
    var history = await recorder.history
    if sites != nil, let back = episodes.first?.sites?.oldSideStartedAt {
      // Clients pinned to the old side's members talk to the standby once it is started again: outside the
      // contract (clients follow the published endpoints), so their operations from then on are left out.
      let pinned = Set(clients.map(\.name).filter { $0 != "cluster" })
      let kept = history.filter { !(pinned.contains($0.client) && $0.invokedAt >= back) }
      episodes[0].sites?.droppedStandbyOperations = history.count - kept.count
      history = kept
    }
    // Vigil's plans end with their own verification, which may finish after the drill's: wait for them.
    let store = vigil.store
    let name = clusterName
    _ = try await wait(timeout: .seconds(60), poll: .milliseconds(100)) {
      ((try? await store.plans(cluster: name, states: [.running, .ready], limit: 10)) ?? []).isEmpty
    }
    episodes = try await gatherVigilRecords(episodes)

    // A restore from backup may lose the writes of its RPO window: those are declared, not hidden — lost ones
    // are reported apart, and operations in the window count as of unknown outcome for the checker.
    var lost = HistoryChecker.lostWrites(history, final: final)
    if let fenced = episodes.first?.sites?.fencedAt {
      // Split brain: a write acknowledged after the fence that the new side does not have was acknowledged
      // by the old side after it should have been stopped.
      episodes[0].sites?.ackedAfterFence = lost.filter { $0.completedAt > fenced }.count
    }
    var lostInWindow: [RecordedOperation]?
    if let window = scenario.expect.rpoWindow, let fault = episodes.first?.injectedAt {
      let from = fault - window
      let until = episodes.last?.healthyAt ?? .infinity
      lostInWindow = lost.filter { $0.completedAt >= from }
      lost = lost.filter { $0.completedAt < from }
      history = history.map { op in
        var op = op
        if op.outcome == .ok, op.completedAt >= from, op.invokedAt <= until { op.outcome = .unknown }
        return op
      }
    }
    let checker = HistoryChecker().check(history)
    let phantom = HistoryChecker.phantomReads(history).count
    let regressions = await sentinel.regressions
    let samples = await sentinel.samples
    if regressions > 0 { logger.warning("drill: revisions went backwards", metadata: ["samples": "\(samples)"]) }
    let watchOutcome = await sentinel.watchOutcome
    let firstFault = episodes.first?.injectedAt ?? 0
    let recovered = episodes.last?.healthyAt
    let workloadSummary = WorkloadSummary(
      history, faultAt: firstFault, recoveredAt: recovered, wholeClusterClient: "cluster")
    var run = DrillRun(
      scenario: scenario.name, repeatIndex: repeatIndex, seed: seed, startedAt: wallStart,
      endedAt: Date().timeIntervalSince1970, episodes: episodes, workload: workloadSummary, lostWrites: lost,
      phantomReads: phantom, checker: checker,
      problems: DrillRun.problems(
        scenario, episodes: episodes, lost: lost.count, phantom: phantom, checker: checker,
        revisionRegressions: regressions, watchAcrossFault: watchOutcome))
    run.lostInWindow = lostInWindow
    run.revisionRegressions = regressions
    run.watchAcrossFault = watchOutcome
    return DrillOutcome(run: run, history: history)
  }

  // MARK: faults

  func inject(random: inout SeededRandom, timeout: Duration) async throws -> [DrillEpisode] {
    switch scenario.fault {
    case .kill where scenario.target == .majority || scenario.target == .all,
      .wipe where scenario.target == .majority || scenario.target == .all:
      return [try await episode(onMany: try await pickMany(scenario.target, random: &random), timeout: timeout)]
    case .kill, .wipe, .freeze, .partition, .killVigil, .killVigilLeader, .partitionVigil:
      let victim = try await pick(scenario.target, random: &random)
      return [try await episode(on: victim, timeout: timeout)]
    case .fillQuota:
      return [try await fillQuota(timeout: timeout)]
    case .vigilChurn:
      return [try await churn(random: &random, timeout: timeout)]
    case .siteLoss, .standbyLag, .mirrorRestart, .failoverUnderLoad:
      return [try await siteEpisode(random: &random, timeout: timeout)]
    case .rolling, .rollingWipe:
      var episodes: [DrillEpisode] = []
      // The original members, in order: a wiped one comes back under a new name.
      for member in await cluster.members.map(\.name) {
        guard try await wait(timeout: .seconds(60), { await self.vigilSeesHealthy() }) else {
          throw DrillError("Vigil did not see the cluster healthy again before killing \(member)")
        }
        episodes.append(try await episode(on: member, timeout: timeout))
      }
      return episodes
    }
  }

  /// A member: a follower (seeded choice) or the leader.
  func pick(_ target: DrillTarget, random: inout SeededRandom) async throws -> String {
    let status = try await admin.whole.maintenance.status()
    let members = try await admin.whole.cluster.list().filter { !$0.isLearner }
    switch target {
    case .leader:
      guard let leader = members.first(where: { $0.id == status.leader }) else { throw DrillError("no leader to fault") }
      return leader.name
    default:
      let followers = members.filter { $0.id != status.leader }.map(\.name).sorted()
      guard !followers.isEmpty else { throw DrillError("no follower to fault") }
      return followers[Int.random(in: 0..<followers.count, using: &random)]
    }
  }

  /// A majority (the leader and seeded followers) or every member.
  func pickMany(_ target: DrillTarget, random: inout SeededRandom) async throws -> [String] {
    let status = try await admin.whole.maintenance.status()
    let members = try await admin.whole.cluster.list().filter { !$0.isLearner }
    if target == .all { return members.map(\.name).sorted() }
    guard let leader = members.first(where: { $0.id == status.leader }) else { throw DrillError("no leader to fault") }
    var followers = members.filter { $0.id != status.leader }.map(\.name).sorted()
    var chosen = [leader.name]
    while chosen.count < members.count / 2 + 1, !followers.isEmpty {
      chosen.append(followers.remove(at: Int.random(in: 0..<followers.count, using: &random)))
    }
    return chosen
  }

  /// Kills (and wipes) several members at once, and waits until the cluster is verified healthy again.
  func episode(onMany victims: [String], timeout: Duration) async throws -> DrillEpisode {
    var e = DrillEpisode(member: nil, injectedAt: now())
    e.members = victims
    logger.info("drill: injecting", metadata: ["drill.scenario": "\(scenario.name)", "members": "\(victims)"])
    try await cluster.kill(victims)
    if scenario.fault == .wipe { for v in victims { try await cluster.wipe(v) } }
    try await waitHealthy(&e, timeout: timeout)
    await followMembership()
    return e
  }

  /// Injects the scenario's fault on `victim` and waits until the cluster is verified healthy again.
  func episode(on victim: String, timeout: Duration) async throws -> DrillEpisode {
    let member = try await cluster.member(victim)
    let before = try await admin.whole.maintenance.status()
    let wasLeader = before.leader
    let victimID = try await admin.whole.cluster.list().first { $0.name == victim }?.id
    var e = DrillEpisode(member: victim, injectedAt: now())
    var thaw: Task<Double?, Never>?
    logger.info("drill: injecting", metadata: ["drill.scenario": "\(scenario.name)", "member.name": "\(victim)"])
    switch scenario.fault {
    case .kill, .rolling: try await cluster.kill(victim)
    case .wipe, .rollingWipe:
      try await cluster.kill(victim)
      try await cluster.wipe(victim)
    case .freeze:
      try await cluster.freeze(victim)
      // Thawed after the duration unless Vigil replaced the process by then; health is awaited meanwhile.
      let cluster = self.cluster
      let duration = scenario.duration
      thaw = Task {
        try? await Task.sleep(for: .seconds(duration))
        guard !Task.isCancelled, (try? await cluster.state(of: victim)) == .frozen else { return nil }
        try? await cluster.unfreeze(victim)
        return self.now()
      }
    case .partition:
      guard let host = member.host else { throw DrillError("member \(victim) is not on a test host") }
      try await network.partition(host: host, scope: scenario.scope, direction: scenario.direction)
      let until = ContinuousClock.now + .seconds(scenario.duration)
      if scenario.expect.newLeader || scenario.expect.oldLeaderStepsDown {
        (e.newLeader, e.oldLeaderSteppedDown) = await watchElection(
          cutOff: member, cutOffID: victimID, oldLeader: wasLeader, until: until)
      }
      try await Task.sleep(until: until)
      try await network.heal(host: host)
      e.undoneAt = now()
    case .killVigil:
      try await cluster.kill(victim)
      try await cluster.wipe(victim)
      try await killVigilMidRepair(&e)
    case .killVigilLeader, .partitionVigil:
      try await cluster.kill(victim)
      try await cluster.wipe(victim)
      try await loseOwnerMidRepair(&e, cut: scenario.fault == .partitionVigil)
    case .fillQuota, .siteLoss, .standbyLag, .mirrorRestart, .failoverUnderLoad, .vigilChurn:
      break
    }
    try await waitHealthy(&e, timeout: timeout)
    await followMembership()
    if e.newLeader == nil, e.healthyAt != nil, let s = try? await admin.whole.maintenance.status(), s.leader != 0,
      s.raftTerm > before.raftTerm, s.leader != wasLeader || scenario.target == .leader
    {
      // An election happened after the fault (the old leader, restarted, may have won it again).
      e.newLeader = (try? await admin.whole.cluster.list())?.first { $0.id == s.leader }?.name
    }
    if let thaw {
      thaw.cancel()
      e.undoneAt = await thaw.value
    }
    if let seen = e.replicas {
      e.replicas = try await audited(seen, lostAt: e.vigilStoppedAt ?? e.injectedAt)
      // A replica cut off is let back in once the plan ended: it registers anew and takes its share again.
      if seen.cutOff { links?.heal(seen.lost) }
    }
    return e
  }

  /// While a leader is cut off: a new leader among the others, and the old one's own word that it stepped down.
  func watchElection(cutOff: LocalMember, cutOffID: UInt64?, oldLeader: UInt64, until: ContinuousClock.Instant) async
    -> (String?, Bool?)
  {
    var newLeader: String?
    var steppedDown: Bool?
    let others = await cluster.members.filter { $0.name != cutOff.name }
    while ContinuousClock.now < until, newLeader == nil || steppedDown != true {
      for m in others where newLeader == nil {
        if let s = try? await admin.client(m.clientEndpoint).maintenance.status(), s.leader != 0, s.leader != oldLeader {
          newLeader = (try? await admin.whole.cluster.list())?.first { $0.id == s.leader }?.name ?? String(s.leader, radix: 16)
        }
      }
      if scenario.scope == .peers, let s = try? await admin.client(cutOff.clientEndpoint).maintenance.status() {
        steppedDown = s.leader != s.memberID
      }
      try? await Task.sleep(for: .milliseconds(50))
    }
    return (newLeader, steppedDown)
  }

  /// Waits for Vigil's replace-member plan to be past its first membership change, stops Vigil there (its
  /// tasks cancelled mid-step, the plan left running in the journal) and starts a new Vigil on the same state.
  func killVigilMidRepair(_ e: inout DrillEpisode) async throws {
    try await waitForReplacementUnderWay()
    e.vigilStoppedAt = now()
    await vigil.stop()
    logger.info("drill: Vigil stopped mid-repair; starting it again")
    try await startVigilAgain()
    e.vigilRestartedAt = now()
  }

  /// Until Vigil's replace-member plan has removed the wiped member (the middle of the repair).
  func waitForReplacementUnderWay() async throws {
    let store = vigil.store
    let name = clusterName
    guard
      try await wait(timeout: .seconds(60), poll: .milliseconds(10), {
        let plans = (try? await store.plans(cluster: name, states: [.running], limit: 5)) ?? []
        return plans.contains { p in p.runbook == .replaceMember && p.steps.contains { $0.action == .remove && $0.state == .done } }
      })
    else { throw DrillError("Vigil did not start replacing the wiped member within 60 s") }
  }

  /// Replicas: loses the one that owns the cluster in the middle of its repair — killed (its lease left to
  /// expire) or cut off from the management etcd (it runs on) — and waits until another guards the cluster.
  func loseOwnerMidRepair(_ e: inout DrillEpisode, cut: Bool) async throws {
    try await waitForReplacementUnderWay()
    let lost = vigil
    var seen = ReplicaObservation(lost: lost.name, cutOff: cut, leaseTTL: Double(DrillRunner.replicaLeaseTTL))
    e.vigilStoppedAt = now()
    if cut {
      links?.cut(lost.name)
      logger.info("drill: replica \(lost.name) cut off from the management etcd mid-repair")
    } else {
      replicas.removeAll { $0 === lost }
      await lost.stop()
      logger.info("drill: replica \(lost.name) killed mid-repair")
    }
    guard try await wait(timeout: .seconds(60), { await self.owner(excluding: lost) != nil }),
      let next = await owner(excluding: lost)
    else {
      throw DrillError("no other replica guarded the cluster within 60 s of losing \(lost.name)")
    }
    vigil = next
    seen.takenOverAt = now()
    e.vigilRestartedAt = seen.takenOverAt
    e.replicas = seen
  }

  /// vigil-churn: for the scenario's duration, every 2–4 s (seeded) a live replica is stopped gracefully (its
  /// lease revoked) or a new one started, 1 to 4 live; every second, every shard's live owners are counted.
  func churn(random: inout SeededRandom, timeout: Duration) async throws -> DrillEpisode {
    var e = DrillEpisode(member: nil, injectedAt: now())
    var seen = ReplicaObservation(lost: "-", cutOff: false, leaseTTL: Double(DrillRunner.replicaLeaseTTL))
    var c = ChurnObservation()
    c.fewest = replicas.count
    c.most = replicas.count
    let shards = replicas.first?.replica?.settings.shards ?? 8
    var next = replicas.count + 1
    var unownedSince: [Int: Double] = [:]
    var actAt = now() + 2 + Double(random.next() % 2000) / 1000
    let end = now() + scenario.duration
    while now() < end {
      if now() >= actAt {
        if replicas.count > 1 && (replicas.count >= 4 || random.next() % 2 == 0) {
          let leaving = replicas.remove(at: Int(random.next() % UInt64(replicas.count)))
          await leaving.stop()
          c.stops += 1
        } else if let moreReplicas {
          replicas.append(try await moreReplicas("vigil-\(next)"))
          next += 1
          c.starts += 1
        }
        actAt = now() + 2 + Double(random.next() % 2000) / 1000
      }
      let t = now()
      var owners: [Int: Int] = [:]
      for r in replicas {
        for shard in await r.replica?.ownedShards ?? [] { owners[shard, default: 0] += 1 }
      }
      c.samples += 1
      c.fewest = min(c.fewest, replicas.count)
      c.most = max(c.most, replicas.count)
      for shard in 0..<shards {
        switch owners[shard] ?? 0 {
        case 0:
          c.unowned += 1
          let since = unownedSince[shard] ?? t
          unownedSince[shard] = since
          c.longestUnowned = max(c.longestUnowned, t - since)
        case 1:
          unownedSince[shard] = nil
        default:
          c.doubleOwned += 1
          unownedSince[shard] = nil
        }
      }
      try await Task.sleep(for: .seconds(1))
    }
    seen.churn = c
    e.replicas = seen
    guard try await wait(timeout: .seconds(30), { await self.owner() != nil }), let owner = await owner() else {
      throw DrillError("no replica guarded the cluster within 30 s of the churn's end")
    }
    vigil = owner
    try await waitHealthy(&e, timeout: timeout)
    return e
  }

  /// The live replica that guards the drill's cluster now (other than `excluded`).
  func owner(excluding excluded: GuardUnderTest? = nil) async -> GuardUnderTest? {
    for r in replicas where r !== excluded {
      if await r.monitor.guardedClusters.contains(clusterName) { return r }
    }
    return nil
  }

  /// Who resumed the drill's plans and where and when each step ran, from the shared audit log (once the plans
  /// ended): a step's entry is written when it ends and says how long it took.
  func audited(_ seen: ReplicaObservation, lostAt: Double) async throws -> ReplicaObservation {
    var seen = seen
    let store = vigil.store
    let name = clusterName
    _ = try await wait(timeout: .seconds(60)) {
      ((try? await store.plans(cluster: name, limit: 50)) ?? []).allSatisfy(\.state.isFinished)
    }
    struct Run {
      var step: String
      var replica: String
      var start: Double
      var end: Double
    }
    var runs: [Run] = []
    for plan in try await store.plans(cluster: name, limit: 50).sorted(by: { $0.id < $1.id }) {
      let entries = try await store.audit(planID: plan.id, limit: 10_000, ascending: true)
      if seen.resumedBy == nil, let resumed = entries.first(where: { $0.action == "resumed-plan" }) {
        seen.resumedBy = resumed.reason.split(separator: " ").dropFirst().first.map(String.init)
      }
      for entry in entries where entry.action == "step" {
        var replica = "?"
        var took = 0.0
        for part in entry.inputs.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
          if part.hasPrefix("replica=") { replica = String(part.dropFirst("replica=".count)) }
          if part.hasPrefix("took ") { took = Double(part.dropFirst(5).split(separator: " ").first ?? "") ?? 0 }
        }
        let end = relative(entry.at)
        runs.append(Run(step: "#\(plan.id) \(entry.step ?? "?")", replica: replica, start: end - took, end: end))
      }
    }
    // Each step's runs, in the order the steps first ran.
    var order: [String] = []
    var ranOn: [String: [String]] = [:]
    for run in runs {
      if ranOn[run.step] == nil { order.append(run.step) }
      ranOn[run.step, default: []].append(run.replica)
    }
    for step in order {
      let ran = ranOn[step] ?? []
      if ran.count == 1 {
        seen.steps.append("\(step)@\(ran[0])")
      } else {
        seen.repeatedSteps.append("\(step): \(ran.joined(separator: ", "))")
      }
    }
    let lostRuns = runs.filter { $0.replica == seen.lost }
    seen.lastStepAfterLoss = lostRuns.map { $0.end - lostAt }.max()
    // The next owner's first step after the loss: nothing of the lost replica may still run then.
    if let firstNext = runs.filter({ $0.replica != seen.lost && $0.end > lostAt }).map(\.start).min() {
      seen.overlapping = lostRuns.filter { $0.end > firstNext }.map { "\($0.step) ended \(String(format: "%.2f", $0.end - firstNext)) s after" }
    }
    return seen
  }

  /// Stops Vigil: the one instance, or every live replica.
  func stopVigil() async {
    if replicas.isEmpty {
      await vigil.stop()
    } else {
      for r in replicas { await r.stop() }
      replicas = []
    }
  }

  /// A new Vigil on the stopped one's state directory.
  func startVigilAgain() async throws {
    vigil = try await GuardUnderTest.start(config: config, clusters: clusters, logger: logger)
  }

  /// Fills the quota with history churn (large values over a few keys) until etcd answers NOSPACE.
  func fillQuota(timeout: Duration) async throws -> DrillEpisode {
    let value = String(repeating: "q", count: 256 << 10)
    let filler = admin.whole.withCallTimeout(.seconds(10))
    var i = 0
    var e = DrillEpisode(member: nil, injectedAt: now())
    var full = false
    while !full {
      do {
        _ = try await filler.kv.put("/drill-fill/\(i % 4)", value)
      } catch {
        guard error.code == .noSpace else { throw DrillError("filling the quota: \(error)") }
        full = true
      }
      i += 1
      if i > 100_000 { throw DrillError("the quota was not exhausted after 100,000 writes") }
    }
    e.injectedAt = now()  // the fault is the moment etcd refuses writes
    logger.info("drill: NOSPACE after \(i) fill writes")
    try await waitHealthy(&e, timeout: timeout)
    return e
  }

  // MARK: health

  /// Waits until the drill itself verifies the cluster healthy: every member a voter and answering with one
  /// leader, no alarm, and a write accepted. Independent of what Vigil reports.
  func waitHealthy(_ e: inout DrillEpisode, timeout: Duration) async throws {
    if try await wait(timeout: timeout, poll: .milliseconds(100), { await self.verifiedHealthy() }) {
      e.healthyAt = now()
    }
  }

  func verifiedHealthy() async -> Bool {
    let admin = await activeAdmin()
    guard let members = try? await admin.whole.cluster.list(), members.count == voters,
      members.allSatisfy({ !$0.isLearner && !$0.name.isEmpty })
    else { return false }
    var leaders: Set<UInt64> = []
    for m in members {
      guard let url = m.clientURLs.first, let endpoint = try? EtcdEndpoint(parsing: url),
        let client = try? await admin.client(endpoint), let s = try? await client.maintenance.status(), s.leader != 0,
        (try? await client.kv.range("/drill-verify")) != nil
      else { return false }
      leaders.insert(s.leader)
    }
    guard leaders.count == 1, let alarms = try? await admin.whole.maintenance.alarms(), alarms.isEmpty else { return false }
    return (try? await admin.whole.kv.put("/drill-verify", "\(now())")) != nil
  }

  /// Points the drill's whole-cluster clients at the current voters (a replaced member has a new address).
  func followMembership() async {
    guard let list = try? await admin.whole.cluster.list() else { return }
    let voters = list.filter { !$0.isLearner }.compactMap { $0.clientURLs.first }
      .compactMap { try? EtcdEndpoint(parsing: $0) }
    for client in following { await client.follow(voters) }
  }

  /// Vigil's view: every member healthy, no incident open.
  func vigilSeesHealthy() async -> Bool {
    guard await vigil.monitor.openIncidents.isEmpty, let view = await vigil.monitor.repairView(cluster: clusterName)
    else { return false }
    guard view.members.count == voters, view.members.allSatisfy({ $0.health == .healthy && !$0.isLearner }) else {
      return false
    }
    return await vigil.monitor.health(of: clusterName) == .healthy
  }

  // MARK: afterwards

  /// Reads every workload key through the cluster at the end: a final linearizable read of each register
  /// joins the history; the set keys are returned for the lost-write check.
  func finalReads(_ recorder: WorkloadRecorder) async throws -> [String: String] {
    let client = await activeAdmin().whole.withCallTimeout(.seconds(10))
    var result: EtcdRangeResult?
    for attempt in 0..<20 {
      do {
        result = try await client.kv.range(WorkloadRecorder.prefix, prefix: true)
        break
      } catch {
        if attempt == 19 { throw DrillError("cannot read the workload's keys at the end: \(error)") }
        try await Task.sleep(for: .milliseconds(500))
      }
    }
    let t0 = now()
    var values: [String: String] = [:]
    for kv in result?.kvs ?? [] {
      values[String(decoding: kv.key, as: UTF8.self)] = String(decoding: kv.value, as: UTF8.self)
    }
    let t1 = now()
    for r in 0..<recorder.registers {
      let key = recorder.registerKey(r)
      _ = await recorder.record(
        RecordedOperation(
          id: 0, client: "final", kind: .get, key: key, consistency: .linearizable, invokedAt: t0, completedAt: t1,
          outcome: .ok, read: values[key]))
    }
    return values
  }

  /// Detection and repairs from Vigil's own records (its history store), matched to each episode.
  func gatherVigilRecords(_ episodes: [DrillEpisode]) async throws -> [DrillEpisode] {
    let incidents = try await vigil.store.incidents(cluster: clusterName, limit: 500)
    let plans = try await vigil.store.plans(cluster: clusterName, limit: 500)
    var result = episodes
    for i in result.indices {
      let from = result[i].injectedAt - 0.05
      let to = i + 1 < result.count ? result[i + 1].injectedAt : .infinity
      let inWindow = incidents.filter {
        guard let d = $0.detectedAt else { return false }
        return relative(d) >= from && relative(d) < to
      }.sorted { $0.detectedAt! < $1.detectedAt! }
      let mine =
        result[i].member == nil
        ? (inWindow.first { $0.fault != nil } ?? inWindow.first) : inWindow.first { $0.member == result[i].member }
      if let mine {
        result[i].detectedAt = relative(mine.detectedAt!)
        result[i].diagnosis = mine.fault
      }
      result[i].repairs = plans.filter { relative($0.createdAt) >= from && relative($0.createdAt) < to }
        .sorted { $0.createdAt < $1.createdAt }
        .map { p in
          DrillRepair(
            plan: p.id, runbook: p.runbook, state: p.state, startedAt: relative(p.createdAt),
            finishedAt: p.finishedAt.map(relative),
            steps: p.steps.map {
              DrillStep(
                label: $0.label, startedAt: $0.startedAt.map(relative), finishedAt: $0.finishedAt.map(relative),
                state: $0.state.rawValue)
            })
        }
    }
    return result
  }

  func wait(
    timeout: Duration, poll: Duration = .milliseconds(50), _ condition: () async throws -> Bool
  ) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if try await condition() { return true }
      try await Task.sleep(for: poll)
    }
    return false
  }
}
