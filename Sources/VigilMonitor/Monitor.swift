import Foundation
import Logging
import NIOCore
import VigilConfig
import VigilAPI
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilLoops
import VigilProbes
import VigilStore

/// The detection shell: runs every probe target on its schedule (interval
/// ± jitter, one run at a time per target, a global and an `exec`
/// concurrency limit), reads member lists and runs the directed inspections,
/// feeds all of it to the pure ``ClusterWatch`` (health, diagnoses,
/// incidents), and carries out its directives: the store, the metrics, the
/// logs and probes run at once.
public actor Monitor {
  public nonisolated let configuration: VigilConfiguration
  public nonisolated let store: HistoryStore
  public nonisolated let metrics: VigilMetrics
  /// Which of the monitor's loops still turn (and the repair coordinator's, which registers here too).
  public nonisolated let liveness: Liveness
  let clusters: [String: GuardedCluster]
  let inbox: ReportInbox?
  let logger: Logger
  let limiter: AsyncLimiter
  let execLimiter: AsyncLimiter

  // Targets and their loops.
  var targets: [String: ProbeTarget] = [:]
  var loops: [String: LoopControl] = [:]
  /// Loops to start in the running task group (probe loops come and go with the member list).
  var spawn: AsyncStream<@Sendable () async -> Void>.Continuation?
  /// The task running ``runLoops()`` when started with ``start()`` rather than ``run()``.
  var runner: Task<Void, Never>?
  var grpcClients: [String: EtcdClient] = [:]
  var memberClients: [String: (endpoint: EtcdEndpoint, client: EtcdClient)] = [:]

  /// What Vigil believes: health, diagnoses, incidents (pure; this actor carries out its directives).
  var watch: ClusterWatch
  /// The member lists with their client endpoints (for member clients and targets).
  var members: [String: [ListedMember]] = [:]
  var pendingResults: [StoredResult] = []
  var pendingTransitions: [StoredTransition] = []
  var pendingIncidents: [IncidentChange] = []
  /// Wakes the writer at once when an event (not just results) is waiting.
  let flushWakeup = Wakeup()
  var running = false
  /// Targets started with the monitor that have not yet produced a first result.
  var firstRound: Set<String> = []
  /// True once the monitor started and every target it started with produced a result.
  public private(set) var isReady = false
  /// True while the loops run.
  public var isStarted: Bool { running }
  /// Targets started with the monitor still waiting for their first result.
  public var firstRoundPending: Int { firstRound.count }
  /// Probe runs completed since start (for the engine-cost benchmark).
  public private(set) var completedRuns = 0
  /// Health transitions into "failed" since start.
  public var failedTransitions: Int { watch.failedTransitions }

  public init(
    configuration: VigilConfiguration, clusters: [GuardedCluster], store: HistoryStore,
    metrics: VigilMetrics = VigilMetrics(), inbox: ReportInbox? = nil,
    logger: Logger = Logger(label: "vigil.monitor")
  ) throws {
    self.configuration = configuration
    self.clusters = Dictionary(uniqueKeysWithValues: clusters.map { ($0.name, $0) })
    self.store = store
    self.metrics = metrics
    self.liveness = Liveness(settings: configuration.watchdog.settings, metrics: metrics.factory)
    self.inbox = inbox
    self.logger = logger
    self.limiter = AsyncLimiter(limit: configuration.scheduler.maxConcurrentProbes)
    self.execLimiter = AsyncLimiter(limit: configuration.scheduler.maxConcurrentExec)
    // Incidents left open by a previous run (or a crash) continue; they close when healthy again.
    let book = IncidentBook(
      restoring: try store.incidents(openOnly: true, limit: 100_000), nextID: try store.nextIncidentID())
    self.watch = ClusterWatch(detector: configuration.detector.settings, book: book)
  }

  static func now() -> Double { Date().timeIntervalSince1970 }

  // MARK: lifecycle

  /// Runs every loop as a child of this task until it is cancelled (the service group's graceful shutdown
  /// cancels it), then writes what is pending.
  public func run() async {
    guard await prepare() else { return }
    await runLoops()
    await finish()
  }

  /// Starts every loop in a task of its own and returns once they run (drills, tests, benchmarks);
  /// ``stop()`` ends them. ``run()`` is the structured form.
  public func start() async {
    guard await prepare() else { return }
    runner = Task { await self.runLoops() }
  }

  /// Stops the loops started by ``start()`` and writes what is pending.
  public func stop() async {
    guard let runner else { return }
    runner.cancel()
    await runner.value
    self.runner = nil
    await finish()
  }

  /// Builds the targets and reads each member list; false when already running.
  func prepare() async -> Bool {
    guard !running else { return false }
    running = true
    let (jobs, spawn) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
    self.spawn = spawn
    self.jobs = jobs
    for (_, incident) in watch.book.open { metrics.incidentOpened(cluster: incident.cluster) }
    for name in clusters.keys.sorted() {
      let cluster = clusters[name]!
      watch.add(cluster: name)
      for target in clusterTargets(cluster) { startLoop(target) }
      await refreshMembership(name)
      liveness.register(Self.membershipLoopName(name), period: membershipPeriod(name))
      spawn.yield { [weak self] in await self?.membershipLoop(name) }
      liveness.register(Self.inspectionLoopName(name), period: inspectionPeriod)
      spawn.yield { [weak self] in await self?.inspectionLoop(name) }
    }
    firstRound = Set(targets.keys)
    isReady = firstRound.isEmpty
    liveness.register(Self.writerLoopName, period: .seconds(1) + Self.storeWriteAllowance)
    spawn.yield { [weak self] in await self?.flushLoop() }
    liveness.register(Self.compactionLoopName, period: Self.compactionInterval + .seconds(300))
    spawn.yield { [weak self] in await self?.compactionLoop() }
    logger.info("monitor started", metadata: ["clusters": "\(clusters.count)", "targets": "\(targets.count)"])
    return true
  }

  var jobs: AsyncStream<@Sendable () async -> Void>?

  /// Every loop, each a child of one task group; returns once cancelled and every loop has ended.
  func runLoops() async {
    guard let jobs else { return }
    await withDiscardingTaskGroup { group in
      // Ends when the task is cancelled; leaving the group then waits for every loop to see it.
      for await job in jobs { group.addTask { await job() } }
    }
  }

  /// After the loops ended: their liveness entries go, pending history is written, clients close.
  func finish() async {
    spawn?.finish()
    spawn = nil
    jobs = nil
    running = false
    for key in loops.keys { liveness.remove(Self.probeLoopName(key)) }
    for name in clusters.keys {
      liveness.remove(Self.membershipLoopName(name))
      liveness.remove(Self.inspectionLoopName(name))
    }
    liveness.remove(Self.writerLoopName)
    liveness.remove(Self.compactionLoopName)
    loops = [:]
    await flush()
    for (_, c) in memberClients { await c.client.shutdown() }
    for (_, c) in grpcClients { await c.shutdown() }
    memberClients = [:]
    grpcClients = [:]
  }

  // MARK: targets

  func clusterTargets(_ cluster: GuardedCluster) -> [ProbeTarget] {
    let tier = configuration.tiers[cluster.config.tier] ?? TierConfig.defaults["P1"]!
    return ProbeTargetFactory.clusterTargets(
      cluster, probes: configuration.probes(for: cluster.config), tier: tier, inbox: inbox,
      certificateDays: configuration.inspections.certificateDays
    ) { address in
      if let c = grpcClients[address] { return c }
      guard var endpoint = try? EtcdEndpoint(parsing: address) else { return nil }
      var tls: EtcdTLSConfiguration?
      if endpoint.scheme == .https {
        tls = cluster.client.configuration.tls
        endpoint.scheme = .https
      }
      let client = try? EtcdClient(configuration: EtcdClientConfiguration(endpoints: [endpoint], tls: tls))
      grpcClients[address] = client
      return client
    }
  }

  func memberClient(cluster: String, _ m: ListedMember) -> EtcdClient? {
    guard let endpoint = m.endpoint, let guarded = clusters[cluster] else { return nil }
    let key = "\(cluster)/\(m.id)"
    if let existing = memberClients[key], existing.endpoint == endpoint { return existing.client }
    let client = guarded.client.member(endpoint)
    memberClients[key] = (endpoint, client)
    return client
  }

  func startLoop(_ target: ProbeTarget) {
    targets[target.key] = target
    watch.add(target.watched)
    let control = LoopControl()
    loops[target.key] = control
    let wakeup = control.wakeup
    let limiter = target.probe.kind == .exec ? execLimiter : limiter
    let jitter = configuration.scheduler.jitter
    let liveness = self.liveness
    let loopName = Self.probeLoopName(target.key)
    // One turn: the wait, a run, the reachability check and a confirming re-probe.
    liveness.register(
      loopName, period: target.interval * (1 + jitter) + target.timeout * 2 + Self.reachabilityTimeout)
    spawn?.yield { [weak self] in
      // Spread first runs over one interval so targets do not fire together.
      await wakeup.wait(target.interval * Double.random(in: 0..<1))
      while !Task.isCancelled && !control.isStopped {
        guard let self else { return }
        await liveness.checkpoint(loopName)
        var confirmation = false
        while !Task.isCancelled {
          let result = await limiter.run { await target.run(target.timeout) }
          // A loop stopped while its probe ran (its member left or was rebuilt) reports nothing.
          if control.isStopped { return }
          let reach = await Self.reachability(after: result, of: target)
          let confirm = await self.handle(result, of: target, reach: reach, confirmation: confirmation)
          if !confirm || confirmation { break }
          confirmation = true
        }
        liveness.turned(loopName)
        let spread = 1 + Double.random(in: -jitter...jitter)
        await wakeup.wait(target.interval * spread)
      }
    }
  }

  func stopLoop(_ key: String) {
    liveness.remove(Self.probeLoopName(key))
    // A target stopped before its first result (its member left) no longer holds readiness back.
    if firstRound.remove(key) != nil, firstRound.isEmpty, running { isReady = true }
    loops.removeValue(forKey: key)?.stop()
    targets[key] = nil
    watch.remove(target: key)
  }

  static let reachabilityTimeout: Duration = .milliseconds(300)

  /// After a member probe timed out or was cut off: does its client port still accept TCP? (hung, cut off, gone)
  static func reachability(after result: ProbeResult, of target: ProbeTarget) async -> Reach {
    guard !result.succeeded, let endpoint = target.memberEndpoint,
      result.failure == .timeout || result.failure == .interrupted
    else { return .notChecked }
    let tcp = TCPProbe(name: "reach", target: target.subject, host: endpoint.host, port: endpoint.port)
    let r = await tcp.run(timeout: ProbeTargetFactory.timeAmount(reachabilityTimeout))
    return r.succeeded ? .accepting : (r.failure == .refused ? .refused : .silent)
  }

  // MARK: results

  /// Feeds one result to the watch and carries out what it decides; true when the detector wants a
  /// confirming re-probe.
  func handle(_ result: ProbeResult, of target: ProbeTarget, reach: Reach, confirmation: Bool) async -> Bool {
    guard watch.targets[target.key] != nil else { return false }
    completedRuns += 1
    if !isReady, firstRound.remove(target.key) != nil, firstRound.isEmpty { isReady = true }
    let at = Self.now()
    metrics.probe(
      cluster: target.cluster, subject: target.subject, probe: target.probe.name, ok: result.succeeded,
      latency: result.latency)
    pendingResults.append(
      StoredResult(
        at: at, cluster: target.cluster, subject: target.subject, probe: target.probe.name, ok: result.succeeded,
        failure: result.failure?.rawValue, latency: result.latency.seconds, message: result.message))
    var seen = WatchResult(observation: result.observation(confirmation: confirmation), reach: reach)
    if let st = result.memberStatus {
      seen.status = StatusSample(
        memberID: st.memberID, clusterID: st.clusterID, leader: st.leader, raftIndex: st.raftIndex,
        alarms: result.memberAlarms)
    } else if !result.succeeded, reach == .refused || result.failure == .refused, let member = target.member,
      let guarded = clusters[target.cluster]
    {
      // Refused: a member whose data dir Vigil's runtime owns may have lost it.
      let dataDir = await guarded.dataDir(member)
      if let dataDir { seen.dataDirLost = !EtcdDataDir.hasData(dataDir) }
    }
    return carryOut(watch.observe(seen, of: target.key, at: at))
  }

  /// Carries out the watch's directives; true when one asks for a confirming re-probe.
  @discardableResult
  func carryOut(_ directives: [WatchDirective]) -> Bool {
    var confirm = false
    for d in directives {
      switch d {
      case .confirm:
        confirm = true
      case .healthChanged(let subject, let t, let at):
        metrics.health(cluster: subject.cluster, subject: subject.key, state: t.to)
        logger.info(
          "health changed",
          metadata: [
            "subject": "\(subject)", "from": "\(t.from.rawValue)", "to": "\(t.to.rawValue)",
            "evidence": "\(t.evidence.joined(separator: "; "))",
          ])
        pendingTransitions.append(
          StoredTransition(
            at: at, cluster: subject.cluster, subject: subject.key, from: t.from, to: t.to, evidence: t.evidence))
        flushWakeup.wake()
      case .incident(let change, let open):
        if case .opened = change { metrics.incidentOpened(cluster: change.incident.cluster) }
        pendingIncidents.append(change)
        flushWakeup.wake()
        metrics.incidents(cluster: change.incident.cluster, open: open)
      case .detected(let cluster, let after):
        metrics.detected(cluster: cluster, after: after)
      case .probeNow(let cluster, let reason):
        trigger(cluster: cluster, reason: reason)
      case .noticed(let cluster, .leaderChanged(let from, let to)):
        logger.info(
          "leader changed",
          metadata: ["cluster": "\(cluster)", "from": "\(String(from, radix: 16))", "to": "\(String(to, radix: 16))"])
      case .noticed(let cluster, .identityChanged(let m, let detail)):
        logger.warning("member identity changed", metadata: ["cluster": "\(cluster)", "member": "\(m)", "detail": "\(detail)"])
      case .noticed(let cluster, .raftIndexRegressed(let m, let from, let to)):
        logger.warning(
          "raft index went backwards",
          metadata: ["cluster": "\(cluster)", "member": "\(m)", "from": "\(from)", "to": "\(to)"])
      }
    }
    return confirm
  }

  // MARK: events and on-demand runs

  /// Probes every target of `cluster` now (a membership or leader change, a finished repair).
  public func trigger(cluster: String, reason: String) {
    for target in targets.values where target.cluster == cluster { loops[target.key]?.wakeup.wake() }
  }

  /// Runs the probes named `name` (of `cluster`, or of every cluster) now; results feed the detector too.
  public func runProbe(name: String, cluster: String? = nil) async -> [ProbeRunReport] {
    let chosen = targets.values.filter { $0.probe.name == name && (cluster == nil || $0.cluster == cluster) }
      .sorted { $0.key < $1.key }
    var reports: [ProbeRunReport] = []
    await withTaskGroup(of: (ProbeTarget, ProbeResult).self) { group in
      for t in chosen { group.addTask { (t, await t.run(t.timeout)) } }
      for await (t, r) in group {
        _ = await handle(r, of: t, reach: .notChecked, confirmation: false)
        reports.append(Self.report(r, of: t))
      }
    }
    return reports.sorted { $0.subject < $1.subject }
  }

  /// Probe names configured for `cluster` (or any cluster).
  public func probeNames(cluster: String? = nil) -> [String] {
    Array(Set(targets.values.filter { cluster == nil || $0.cluster == cluster }.map(\.probe.name))).sorted()
  }

  public var clusterNames: [String] { clusters.keys.sorted() }

  static func report(_ r: ProbeResult, of t: ProbeTarget) -> ProbeRunReport {
    ProbeRunReport(
      cluster: t.cluster, subject: t.subject, probe: t.probe.name, status: r.status.rawValue, ok: r.succeeded,
      failure: r.failure?.rawValue, message: r.message, latencyMs: r.latency.seconds * 1000,
      steps: r.steps.map { .init(name: $0.name, latencyMs: $0.latency.seconds * 1000, ok: $0.succeeded) },
      metrics: r.metrics)
  }

  // MARK: membership

  func membershipLoop(_ cluster: String) async {
    let name = Self.membershipLoopName(cluster)
    while !Task.isCancelled {
      try? await Task.sleep(for: configuration.scheduler.membershipInterval.duration)
      if Task.isCancelled { return }
      await liveness.checkpoint(name)
      await refreshMembership(cluster)
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

  // MARK: inspections

  func inspectionLoop(_ cluster: String) async {
    let name = Self.inspectionLoopName(cluster)
    let interval = configuration.inspections.interval.duration
    try? await Task.sleep(for: interval * Double.random(in: 0.05..<0.3))
    while !Task.isCancelled {
      await liveness.checkpoint(name)
      _ = await inspect(cluster: cluster)
      liveness.turned(name)
      try? await Task.sleep(for: interval * (1 + Double.random(in: -0.1...0.1)))
    }
  }

  /// One inspection turn: the wait (± 10 %), the member reads (2 s deadline each), a membership read, the store write.
  var inspectionPeriod: Duration {
    configuration.inspections.interval.duration * 1.1 + .seconds(4) + Self.storeWriteAllowance
  }

  /// Runs the directed inspections of `cluster` now and records the findings.
  public func inspect(cluster: String) async -> [Finding] {
    guard let guarded = clusters[cluster] else { return [] }
    if members[cluster] == nil { await refreshMembership(cluster) }
    let listed = members[cluster] ?? []
    let at = Self.now()
    var clients: [UInt64: EtcdClient] = [:]
    for m in listed { clients[m.id] = memberClient(cluster: cluster, m) }
    let snapshot = await InspectionRunner.snapshot(
      cluster: guarded, members: listed, memberClient: { clients[$0.id] },
      learnerFor: watch.learnerAge(cluster: cluster, at: at),
      leaderChanges: watch.leaderChanges(cluster: cluster, lastHourBefore: at), now: at, timeout: .seconds(2))
    var thresholds = InspectionThresholds()
    let c = configuration.inspections
    thresholds.quotaRatio = c.quotaRatio
    thresholds.fragmentationRatio = c.fragmentationRatio
    thresholds.fragmentationMinimumBytes = c.fragmentationMinimumBytes
    thresholds.learnerGrace = c.learnerGrace.duration
    thresholds.leaderChangesPerHour = c.leaderChangesPerHour
    thresholds.certificateDays = c.certificateDays
    thresholds.raftLag = UInt64(c.raftLag)
    let found = Inspector.inspect(snapshot, thresholds)
    metrics.findings(cluster: cluster, found)
    let alarms = Dictionary(snapshot.members.map { ($0.name, Set($0.alarms)) }, uniquingKeysWith: { a, _ in a })
    carryOut(watch.inspected(cluster: cluster, findings: found, alarms: alarms, at: at))
    do { try await store.record(findings: found, at: at) } catch {
      logger.error("cannot store findings", metadata: ["error": "\(error)"])
    }
    return found
  }

  // MARK: persistence

  /// Writes pending results every second, and transitions and incident changes as soon as they happen.
  func flushLoop() async {
    while !Task.isCancelled {
      await flushWakeup.wait(.seconds(1))
      await liveness.checkpoint(Self.writerLoopName)
      await flush()
      liveness.turned(Self.writerLoopName)
    }
  }

  /// How long one store write may take on a busy disk (SQLite waits up to 5 s for a lock).
  static let storeWriteAllowance: Duration = .seconds(6)
  static let compactionInterval: Duration = .seconds(600)

  func flush() async {
    let results = pendingResults
    let transitions = pendingTransitions
    let incidents = pendingIncidents
    pendingResults = []
    pendingTransitions = []
    pendingIncidents = []
    do { try await store.record(results: results, transitions: transitions, incidents: incidents) } catch {
      logger.error(
        "cannot store history", metadata: ["error": "\(error)", "results": "\(results.count)", "incidents": "\(incidents.count)"])
    }
  }

  func compactionLoop() async {
    while !Task.isCancelled {
      var policy = RetentionPolicy()
      let h = configuration.history
      policy.rawResults = h.rawRetention.duration
      policy.rollups = h.rollupRetention.duration
      policy.events = h.eventRetention.duration
      policy.maxRawResults = h.maxRawResults
      await liveness.checkpoint(Self.compactionLoopName)
      do { try await store.compact(now: Self.now(), policy: policy) } catch {
        logger.error("cannot compact the history", metadata: ["error": "\(error)"])
      }
      liveness.turned(Self.compactionLoopName)
      try? await Task.sleep(for: Self.compactionInterval)
    }
  }

  // MARK: loop names (as `/healthz` and `vigil_loop_last_turn_timestamp_seconds{loop}` show them)

  static func probeLoopName(_ targetKey: String) -> String { "probe:\(targetKey)" }
  static func membershipLoopName(_ cluster: String) -> String { "membership:\(cluster)" }
  static func inspectionLoopName(_ cluster: String) -> String { "inspections:\(cluster)" }
  static let writerLoopName = "history-writer"
  static let compactionLoopName = "history-compaction"

  // MARK: status

  public func status() -> MonitorStatus {
    var out: [MonitorStatus.ClusterStatus] = []
    for name in clusters.keys.sorted() {
      let guarded = clusters[name]!
      let clusterDiagnoses = watch.diagnoses[name] ?? []
      let memberRows = (members[name] ?? []).map { m in
        MonitorStatus.MemberStatus(
          name: m.name, id: String(m.id, radix: 16), endpoint: m.endpoint?.description, learner: m.isLearner,
          health: watch.health(of: .member(m.name, of: name)),
          diagnosis: clusterDiagnoses.first { $0.member == m.name }.map { "\($0.fault.rawValue): \($0.reason)" })
      }
      let probeLines = targets.values.filter { $0.cluster == name }.sorted { $0.key < $1.key }.map { t in
        let last = watch.latest[t.key]
        return MonitorStatus.ProbeStatusLine(
          subject: t.subject, probe: t.probe.name, health: watch.detectors[t.key]?.state ?? .unknown,
          lastOK: last?.observation.succeeded, lastMessage: last?.observation.detail,
          lastLatencyMs: last.map { $0.observation.latency.seconds * 1000 }, lastAt: last?.at, runs: last?.runs ?? 0)
      }
      out.append(
        MonitorStatus.ClusterStatus(
          name: name, tier: guarded.config.tier, health: watch.health(of: Subject(cluster: name)),
          endpoints: guarded.client.endpoints.map(\.description), members: memberRows,
          diagnoses: clusterDiagnoses, findings: watch.findings[name] ?? [], probes: probeLines,
          openIncidents: watch.openIncidents(cluster: name)))
    }
    return MonitorStatus(generatedAt: Self.now(), clusters: out)
  }

  /// The health state of a subject (`cluster` or `cluster/member`).
  public func health(of subject: String) -> HealthState { watch.health(of: Subject(key: subject)) }

  /// Open incidents, oldest first.
  public var openIncidents: [Incident] { watch.book.open.values.sorted { $0.openedAt < $1.openedAt } }

  public func currentDiagnoses(cluster: String) -> [Diagnosis] { watch.diagnoses[cluster] ?? [] }
}
