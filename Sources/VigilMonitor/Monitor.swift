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
  var jobs: AsyncStream<@Sendable () async -> Void>?
  /// The task running ``runLoops()`` when started with ``start()`` rather than ``run()``.
  var runner: Task<Void, Never>?
  var grpcClients: [String: EtcdClient] = [:]
  /// Reads what is new in members' logs; the last error reading each (logged when it changes).
  let logReader = MemberLogReader()
  var logReadErrors: [String: String] = [:]
  /// Each cluster's latest disk check (`etcd.perf`), for its finding.
  var diskChecks: [String: ProbeResult] = [:]
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
  /// With several replicas: whether this replica owns a cluster now (``share(ownership:)``).
  var ownership: (@Sendable (String) async -> Bool)?
  /// Clusters guarded here at their last turn, and those whose left-open incidents are being read.
  var guardedHere: Set<String> = []
  var adopting: Set<String> = []
  /// True once the monitor started and every target it started with produced a result.
  public internal(set) var isReady = false
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
  ) async throws {
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
      restoring: try await store.incidents(openOnly: true, limit: 100_000), nextID: try await store.nextIncidentID())
    self.watch = ClusterWatch(detector: configuration.detector.settings, book: book)
    var logs = LogThresholds()
    logs.window = configuration.inspections.logWindow.duration.seconds
    logs.slowDiskOccurrences = configuration.inspections.logSlowDiskOccurrences
    logs.leaderChangeOccurrences = configuration.inspections.logLeaderChangeOccurrences
    self.watch.logThresholds = logs
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
      if cluster.logSource != nil {
        liveness.register(Self.logLoopName(name), period: logPeriod)
        spawn.yield { [weak self] in await self?.logLoop(name) }
      }
    }
    // The hourly disk check does not hold readiness back.
    firstRound = Set(targets.filter { $0.value.probe.kind != .etcdPerf }.keys)
    isReady = firstRound.isEmpty
    liveness.register(Self.writerLoopName, period: .seconds(1) + Self.storeWriteAllowance)
    spawn.yield { [weak self] in await self?.flushLoop() }
    liveness.register(Self.compactionLoopName, period: Self.compactionInterval + .seconds(300))
    spawn.yield { [weak self] in await self?.compactionLoop() }
    logger.info("monitor started", metadata: ["clusters": "\(clusters.count)", "targets": "\(targets.count)"])
    return true
  }

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
      liveness.remove(Self.logLoopName(name))
    }
    liveness.remove(Self.writerLoopName)
    liveness.remove(Self.compactionLoopName)
    loops = [:]
    // The next start builds targets and reads member lists afresh (what the watch believes stays).
    for key in targets.keys { watch.remove(target: key) }
    targets = [:]
    members = [:]
    firstRound = []
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
    // Only while running: targets are rebuilt at the next start.
    guard let spawn else { return }
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
    let lag = metrics.probeLag
    spawn.yield { [weak self] in
      // Spread first runs over one interval so targets do not fire together.
      let first = target.interval * Double.random(in: 0..<1)
      var due = ContinuousClock.now + first
      await wakeup.wait(first)
      while !Task.isCancelled && !control.isStopped {
        guard let self else { return }
        await liveness.checkpoint(loopName)
        var confirmation = false
        // The disk check adds load: never to a cluster already in trouble.
        var guarded = await self.guards(target.cluster)
        if guarded && target.probe.kind == .etcdPerf { guarded = await self.trouble(target.cluster) == nil }
        if !guarded { await self.skipped(target) }
        while guarded && !Task.isCancelled {
          let result = await limiter.run {
            if !confirmation { lag.record(ContinuousClock.now - due) }
            return await target.run(target.timeout)
          }
          // A loop stopped while its probe ran (its member left or was rebuilt) reports nothing.
          if control.isStopped { return }
          let reach = await Self.reachability(after: result, of: target)
          let confirm = await self.handle(result, of: target, reach: reach, confirmation: confirmation)
          if !confirm || confirmation { break }
          confirmation = true
        }
        liveness.turned(loopName)
        let wait = target.interval * (1 + Double.random(in: -jitter...jitter))
        due = ContinuousClock.now + wait
        await wakeup.wait(wait)
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
    if target.probe.kind == .etcdPerf { diskChecks[target.cluster] = result }
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
    var runnable: [ProbeTarget] = []
    for t in chosen {
      if t.probe.kind == .etcdPerf, let why = trouble(t.cluster) {
        reports.append(
          ProbeRunReport(
            cluster: t.cluster, subject: t.subject, probe: t.probe.name, status: ProbeStatus.unknown.rawValue, ok: false,
            failure: nil, message: "not run: \(why); the disk check never adds load to a cluster in trouble",
            latencyMs: 0, steps: [], metrics: [:]))
      } else {
        runnable.append(t)
      }
    }
    await withTaskGroup(of: (ProbeTarget, ProbeResult).self) { group in
      for t in runnable { group.addTask { (t, await t.run(t.timeout)) } }
      for await (t, r) in group {
        _ = await handle(r, of: t, reach: .notChecked, confirmation: false)
        reports.append(Self.report(r, of: t))
      }
    }
    return reports.sorted { $0.subject < $1.subject }
  }

  /// Why `cluster` is in trouble (not healthy, a member not healthy, an incident open, a fault named), or nil.
  func trouble(_ cluster: String) -> String? {
    let health = watch.health(of: Subject(cluster: cluster))
    if health != .healthy { return "cluster \(cluster) is \(health.rawValue)" }
    for m in members[cluster] ?? [] {
      let h = watch.health(of: .member(m.name, of: cluster))
      if h != .healthy { return "member \(m.name) is \(h.rawValue)" }
    }
    if let open = watch.openIncidents(cluster: cluster).first { return "incident #\(open.id) is open" }
    if let d = watch.diagnoses[cluster]?.first { return "\(d.fault.rawValue) diagnosed" }
    return nil
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

  // MARK: loop names (as `/healthz` and `vigil_loop_last_turn_timestamp_seconds{loop}` show them)

  static func probeLoopName(_ targetKey: String) -> String { "probe:\(targetKey)" }
  static func membershipLoopName(_ cluster: String) -> String { "membership:\(cluster)" }
  static func inspectionLoopName(_ cluster: String) -> String { "inspections:\(cluster)" }
  static let writerLoopName = "history-writer"
  static let compactionLoopName = "history-compaction"
}

extension Monitor {
  /// The healthy members of each pair's active side (and of every other cluster), as Vigil publishes them to
  /// clients: the endpoints route, the endpoints file, service discovery and `vigil proxy`.
  /// - Parameter pairs: each pair's active side, as the repair coordinator keeps it.
  public func published(pairs: [ActiveSide]) async -> [PublishedEndpoints] {
    let standbys = Dictionary(
      configuration.clusters.compactMap { c in c.standby.map { (c.name, $0) } }, uniquingKeysWith: { a, _ in a })
    return EndpointDirectory.published(status: await status(), pairs: pairs, standbys: standbys)
  }
}
