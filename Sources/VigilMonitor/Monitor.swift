import Foundation
import Logging
import NIOCore
import VigilConfig
import VigilCore
import VigilEtcd
import VigilLocal
import VigilLoops
import VigilProbes
import VigilStore

/// The detection engine: runs every probe target on its schedule (interval
/// ± jitter, one run at a time per target, a global and an `exec`
/// concurrency limit), feeds results to a failure detector per target,
/// derives each member's and cluster's health, names faults, keeps incidents,
/// runs the directed inspections, and records everything in the store and
/// the metrics.
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
  var loops: [String: Task<Void, Never>] = [:]
  var wakeups: [String: Wakeup] = [:]
  var background: [Task<Void, Never>] = []
  var grpcClients: [String: EtcdClient] = [:]
  var memberClients: [String: (endpoint: EtcdEndpoint, client: EtcdClient)] = [:]

  // What the engine believes.
  var detectors: [String: FailureDetector] = [:]
  var lastResults: [String: (result: ProbeResult, at: Double, runs: Int)] = [:]
  /// Status results in a row that carried the member's status, per etcd.member target.
  var statusStreak: [String: Int] = [:]
  var subjectStates: [String: HealthState] = [:]
  var lastGood: [String: Double] = [:]
  var observers: [String: ClusterObserver] = [:]
  var members: [String: [ListedMember]] = [:]
  var learnerSince: [String: [UInt64: Double]] = [:]
  var diagnoses: [String: [Diagnosis]] = [:]
  var findings: [String: [Finding]] = [:]
  var book: IncidentBook
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
  public private(set) var failedTransitions = 0

  public init(
    configuration: VigilConfiguration, clusters: [GuardedCluster], store: HistoryStore,
    metrics: VigilMetrics = VigilMetrics(), inbox: ReportInbox? = nil,
    logger: Logger = Logger(label: "vigil.monitor")
  ) throws {
    self.configuration = configuration
    self.clusters = Dictionary(uniqueKeysWithValues: clusters.map { ($0.name, $0) })
    self.store = store
    self.metrics = metrics
    self.liveness = Liveness(settings: configuration.watchdog.settings, registry: metrics.registry)
    self.inbox = inbox
    self.logger = logger
    self.limiter = AsyncLimiter(limit: configuration.scheduler.maxConcurrentProbes)
    self.execLimiter = AsyncLimiter(limit: configuration.scheduler.maxConcurrentExec)
    // Incidents left open by a previous run (or a crash) continue; they close when healthy again.
    self.book = IncidentBook(
      restoring: try store.incidents(openOnly: true, limit: 100_000), nextID: try store.nextIncidentID())
  }

  static func now() -> Double { Date().timeIntervalSince1970 }

  // MARK: lifecycle

  /// Starts every loop; returns once they run. ``stop()`` ends them.
  public func start() async {
    guard !running else { return }
    running = true
    for (_, incident) in book.open { metrics.incidentOpened(cluster: incident.cluster) }
    for name in clusters.keys.sorted() {
      let cluster = clusters[name]!
      observers[name] = ClusterObserver()
      for target in clusterTargets(cluster) { startLoop(target) }
      await refreshMembership(name)
      liveness.register(Self.membershipLoopName(name), period: membershipPeriod(name))
      background.append(
        Task { [weak self] in await self?.membershipLoop(name) })
      liveness.register(Self.inspectionLoopName(name), period: inspectionPeriod)
      background.append(Task { [weak self] in await self?.inspectionLoop(name) })
    }
    firstRound = Set(targets.keys)
    isReady = firstRound.isEmpty
    liveness.register(Self.writerLoopName, period: .seconds(1) + Self.storeWriteAllowance)
    background.append(Task { [weak self] in await self?.flushLoop() })
    liveness.register(Self.compactionLoopName, period: Self.compactionInterval + .seconds(300))
    background.append(Task { [weak self] in await self?.compactionLoop() })
    logger.info("monitor started", metadata: ["clusters": "\(clusters.count)", "targets": "\(targets.count)"])
  }

  /// Stops every loop and writes what is pending.
  public func stop() async {
    guard running else { return }
    running = false
    for task in loops.values { task.cancel() }
    for task in background { task.cancel() }
    for task in loops.values { await task.value }
    for task in background { await task.value }
    for key in loops.keys { liveness.remove(Self.probeLoopName(key)) }
    for name in clusters.keys {
      liveness.remove(Self.membershipLoopName(name))
      liveness.remove(Self.inspectionLoopName(name))
    }
    liveness.remove(Self.writerLoopName)
    liveness.remove(Self.compactionLoopName)
    loops = [:]
    background = []
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
    detectors[target.key] = FailureDetector(settings: configuration.detector.settings)
    let wakeup = Wakeup()
    wakeups[target.key] = wakeup
    let limiter = target.probe.kind == .exec ? execLimiter : limiter
    let jitter = configuration.scheduler.jitter
    let liveness = self.liveness
    let loopName = Self.probeLoopName(target.key)
    // One turn: the wait, a run, the reachability check and a confirming re-probe.
    liveness.register(
      loopName, period: target.interval * (1 + jitter) + target.timeout * 2 + Self.reachabilityTimeout)
    loops[target.key] = Task { [weak self] in
      // Spread first runs over one interval so targets do not fire together.
      await wakeup.wait(target.interval * Double.random(in: 0..<1))
      while !Task.isCancelled {
        guard let self else { return }
        await liveness.checkpoint(loopName)
        var confirmation = false
        while !Task.isCancelled {
          let result = await limiter.run { await target.run(target.timeout) }
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
    loops.removeValue(forKey: key)?.cancel()
    targets[key] = nil
    wakeups[key] = nil
    detectors[key] = nil
    lastResults[key] = nil
    statusStreak[key] = nil
  }

  static let reachabilityTimeout: Duration = .milliseconds(300)

  /// What a TCP connect to a member's client port showed after one of its probes timed out or was cut off.
  enum Reach: Sendable {
    case notChecked
    /// It accepts connections: the process lives (hung, or cut off from a quorum).
    case accepting
    /// The connect timed out: the network path is cut.
    case silent
    /// Nothing listens: the process is gone (a request cut off as it died is a crash, not a hang).
    case refused

    var tcpReachable: Bool? {
      switch self {
      case .accepting: true
      case .silent: false
      case .notChecked, .refused: nil
      }
    }
  }

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

  /// Feeds one result; returns true when the detector wants a confirming re-probe.
  func handle(_ result: ProbeResult, of target: ProbeTarget, reach: Reach, confirmation: Bool) async -> Bool {
    guard var detector = detectors[target.key] else { return false }
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
    let runs = (lastResults[target.key]?.runs ?? 0) + 1
    lastResults[target.key] = (result, at, runs)
    if target.probe.kind == .etcdMember {
      statusStreak[target.key] = result.memberStatus == nil ? 0 : statusStreak[target.key, default: 0] + 1
    }

    // What the result says about its member.
    if let member = target.member {
      if let st = result.memberStatus {
        // Answered (even with a problem such as no leader or an alarm): its status tells identity, leader, index.
        observe(
          cluster: target.cluster, member: member, memberID: st.memberID, clusterID: st.clusterID, leader: st.leader,
          raftIndex: st.raftIndex, alarms: result.memberAlarms, at: at)
      } else if !result.succeeded {
        let kind: ProbeFailureKind = reach == .refused ? .refused : (result.failure ?? .other)
        observers[target.cluster]?.failed(name: member, kind: kind, tcpReachable: reach.tcpReachable, at: at)
        if kind == .refused, let dataDir = await clusters[target.cluster]?.dataDir(member) {
          let lost = !EtcdDataDir.hasData(dataDir)
          observers[target.cluster]?.update(name: member) { $0.dataDirLost = lost }
        }
      }
    }

    let directives = detector.observe(result.observation(confirmation: confirmation))
    detectors[target.key] = detector
    if target.member != nil, target.probe.kind == .etcdKV {
      let slow = result.succeeded && detector.consecutiveBad > 0
      observers[target.cluster]?.update(name: target.member!) { $0.slowWrites = slow }
    }
    if detector.state == .healthy { lastGood[target.subject] = at }
    var confirm = false
    for d in directives {
      switch d {
      case .confirm: confirm = true
      case .transition: subjectChanged(target.subject, cluster: target.cluster, member: target.member, at: at, cause: target.probe.name)
      }
    }
    if !result.succeeded, let change = book.probeFailed(
      subject: target.subject, text: "\(target.probe.name): \(result.message)", at: at)
    {
      save(change)
    }
    if subjectStates[target.subject, default: .unknown] != .healthy || !result.succeeded {
      diagnose(target.cluster, at: at)
    }
    return confirm
  }

  func observe(
    cluster: String, member: String, memberID: UInt64, clusterID: UInt64, leader: UInt64, raftIndex: UInt64,
    alarms: Set<String>, at: Double
  ) {
    guard var observer = observers[cluster] else { return }
    let events = observer.status(
      name: member, memberID: memberID, clusterID: clusterID, leader: leader, raftIndex: raftIndex, alarms: alarms,
      at: at)
    observers[cluster] = observer
    for e in events {
      switch e {
      case .leaderChanged(let from, let to):
        logger.info(
          "leader changed", metadata: ["cluster": "\(cluster)", "from": "\(String(from, radix: 16))", "to": "\(String(to, radix: 16))"])
        trigger(cluster: cluster, reason: "leader change")
      case .identityChanged(let m, let detail):
        logger.warning("member identity changed", metadata: ["cluster": "\(cluster)", "member": "\(m)", "detail": "\(detail)"])
      case .raftIndexRegressed(let m, let from, let to):
        logger.warning(
          "raft index went backwards", metadata: ["cluster": "\(cluster)", "member": "\(m)", "from": "\(from)", "to": "\(to)"])
      }
    }
  }

  /// Recomputes a subject's health from its targets' detectors and records a change.
  func subjectChanged(_ subject: String, cluster: String, member: String?, at: Double, cause: String) {
    let states = targets.values.filter { $0.subject == subject }.compactMap { detectors[$0.key]?.state }
    let next = Self.combine(states)
    let previous = subjectStates[subject, default: .unknown]
    guard next != previous else { return }
    subjectStates[subject] = next
    if next == .failed { failedTransitions += 1 }
    metrics.health(cluster: cluster, subject: subject, state: next)
    let evidence = targets.values.filter { $0.subject == subject }.sorted { $0.key < $1.key }.compactMap { t -> String? in
      guard let d = detectors[t.key], d.state != .healthy, let last = lastResults[t.key] else { return nil }
      return "\(t.probe.name) \(d.state.rawValue): \(last.result.message)"
    }
    let transition = HealthTransition(from: previous, to: next, evidence: evidence.isEmpty ? ["\(cause) recovered"] : evidence)
    logger.info(
      "health changed",
      metadata: ["subject": "\(subject)", "from": "\(previous.rawValue)", "to": "\(next.rawValue)", "evidence": "\(evidence.joined(separator: "; "))"])
    pendingTransitions.append(
      StoredTransition(at: at, cluster: cluster, subject: subject, from: previous, to: next, evidence: transition.evidence))
    flushWakeup.wake()
    if let change = book.transition(
      cluster: cluster, subject: subject, member: member, transition, at: at, lastGoodAt: lastGood[subject])
    {
      if case .opened = change { metrics.incidentOpened(cluster: cluster) }
      if let detected = change.incident.detectedAt, next == .failed, detected == at {
        metrics.detected(cluster: cluster, after: detected - change.incident.onsetAt)
      }
      save(change)
    }
  }

  /// failed > suspect > healthy; unknown only when nothing else is known.
  static func combine(_ states: [HealthState]) -> HealthState {
    if states.contains(.failed) { return .failed }
    if states.contains(.suspect) { return .suspect }
    if states.contains(.healthy) { return .healthy }
    return .unknown
  }

  func diagnose(_ cluster: String, at: Double) {
    guard let observer = observers[cluster] else { return }
    let listed = members[cluster] ?? []
    // Electing (some member answers with no leader) or elected in the last 5 s.
    let electing =
      (observer.leaderChanges.last.map { at - $0 < 5 } ?? false)
      || observer.members.values.contains { $0.hasLeader == false && $0.lastFailure == nil }
    let bySubject = Dictionary(grouping: targets.values.filter { $0.cluster == cluster }, by: \.subject)
    let signals = listed.map { m in
      var s = observer.signals(
        name: m.name, health: subjectStates["\(cluster)/\(m.name)", default: .unknown], now: at)
      // Whether its status answered while a request through it was timing out: a hung process answers
      // nothing, a member cut off from a quorum still answers its status.
      let subject = "\(cluster)/\(m.name)"
      let mine = bySubject[subject] ?? []
      if let statusTarget = mine.first(where: { $0.probe.kind == .etcdMember }), let status = lastResults[statusTarget.key] {
        // Its failing requests: KV round trips, and the status probe's own raft request (the alarm list).
        let failing = mine.filter { $0.probe.kind == .etcdKV || $0.probe.kind == .etcdMember }
          .compactMap { lastResults[$0.key] }.filter { !$0.result.succeeded }
        if let since = failing.map({ $0.at - $0.result.latency.seconds }).max() {
          // Two answers in a row, the last one after that request began: a status answered just before
          // a freeze does not count.
          if statusStreak[statusTarget.key, default: 0] >= 2 && status.at > since {
            s.statusProbe = .answers
          } else if status.result.memberStatus == nil && status.at > since {
            s.statusProbe = .silent
          } else {
            s.statusProbe = .undecided
          }
        }
      }
      s.electionUnderway = electing
      return s
    }
    let found = Diagnoser.diagnose(cluster: signals)
    diagnoses[cluster] = found
    for d in found {
      let subject = d.member.map { "\(cluster)/\($0)" } ?? cluster
      if let change = book.diagnosed(subject: subject, d, at: at) { save(change) }
    }
    // NOSPACE is one alarm for the whole cluster (every member refuses writes): its incident names it too.
    if let d = found.first(where: { $0.fault == .noSpace }),
      let change = book.diagnosed(subject: cluster, Diagnosis(fault: .noSpace, member: nil, reason: d.reason), at: at)
    {
      save(change)
    }
  }

  /// Queues an incident change for the writer, which stores changes in the order they happened.
  func save(_ change: IncidentChange) {
    pendingIncidents.append(change)
    flushWakeup.wake()
    let open = book.open.values.filter { $0.cluster == change.incident.cluster }.count
    metrics.incidents(cluster: change.incident.cluster, open: open)
  }

  // MARK: events and on-demand runs

  /// Probes every target of `cluster` now (a membership or leader change, a finished repair).
  public func trigger(cluster: String, reason: String) {
    for target in targets.values where target.cluster == cluster { wakeups[target.key]?.wake() }
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
    let at = Self.now()
    var since = learnerSince[cluster] ?? [:]
    for m in listed {
      observers[cluster]?.listed(name: m.name, id: m.id, isLearner: m.isLearner)
      if m.isLearner { since[m.id] = since[m.id] ?? at } else { since[m.id] = nil }
    }
    learnerSince[cluster] = since.filter { id, _ in listed.contains { $0.id == id } }
    let tier = configuration.tiers[guarded.config.tier] ?? TierConfig.defaults["P1"]!
    let probes = configuration.probes(for: guarded.config)
    var wanted: [String: ProbeTarget] = [:]
    for m in listed {
      guard let client = memberClient(cluster: cluster, m) else { continue }
      for t in ProbeTargetFactory.memberTargets(cluster: cluster, member: m, client: client, probes: probes, tier: tier) {
        wanted[t.key] = t
      }
    }
    let current = targets.values.filter { $0.cluster == cluster && $0.member != nil }
    for t in current {
      // A member whose role changed (learner promoted) gets its targets rebuilt.
      let old = before.first { $0.name == t.member }
      let new = listed.first { $0.name == t.member }
      if wanted[t.key] == nil || old != new { stopLoop(t.key) }
    }
    for (key, t) in wanted where targets[key] == nil { startLoop(t) }
    let gone = before.filter { old in !listed.contains { $0.name == old.name } }
    // A removed member's diagnoses end with it (the planner must not repair a member that no longer exists).
    let goneNames = Set(gone.map(\.name))
    diagnoses[cluster]?.removeAll { $0.member.map(goneNames.contains) ?? false }
    for m in gone {
      observers[cluster]?.forget(name: m.name)
      let subject = "\(cluster)/\(m.name)"
      subjectStates[subject] = nil
      if let change = book.retire(subject: subject, reason: "member \(m.name) left the cluster", at: at) {
        save(change)
      }
    }
    if !before.isEmpty {
      logger.info(
        "membership changed",
        metadata: ["cluster": "\(cluster)", "members": "\(listed.map { $0.name + ($0.isLearner ? " (learner)" : "") })"])
      trigger(cluster: cluster, reason: "membership change")
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
    let since = learnerSince[cluster] ?? [:]
    let learnerFor = since.mapValues { Duration.seconds(at - $0) }
    var clients: [UInt64: EtcdClient] = [:]
    for m in listed { clients[m.id] = memberClient(cluster: cluster, m) }
    let leaderChanges = observers[cluster]?.leaderChanges(lastHourBefore: at) ?? 0
    let snapshot = await InspectionRunner.snapshot(
      cluster: guarded, members: listed, memberClient: { clients[$0.id] }, learnerFor: learnerFor,
      leaderChanges: leaderChanges, now: at, timeout: .seconds(2), backupAge: nil, backupMaxAge: nil)
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
    findings[cluster] = found
    metrics.findings(cluster: cluster, found)
    let mismatched = Set(found.filter { $0.check == "hash-mismatch" }.compactMap(\.member))
    for m in listed { observers[cluster]?.update(name: m.name) { $0.hashMismatch = mismatched.contains(m.name) } }
    for m in snapshot.members where !m.alarms.isEmpty {
      observers[cluster]?.update(name: m.name) { $0.alarms = Set(m.alarms) }
    }
    do { try await store.record(findings: found, at: at) } catch {
      logger.error("cannot store findings", metadata: ["error": "\(error)"])
    }
    if !found.isEmpty || !mismatched.isEmpty { diagnose(cluster, at: at) }
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
      let clusterDiagnoses = diagnoses[name] ?? []
      let memberRows = (members[name] ?? []).map { m in
        MonitorStatus.MemberStatus(
          name: m.name, id: String(m.id, radix: 16), endpoint: m.endpoint?.description, learner: m.isLearner,
          health: subjectStates["\(name)/\(m.name)", default: .unknown],
          diagnosis: clusterDiagnoses.first { $0.member == m.name }.map { "\($0.fault.rawValue): \($0.reason)" })
      }
      let probeLines = targets.values.filter { $0.cluster == name }.sorted { $0.key < $1.key }.map { t in
        let last = lastResults[t.key]
        return MonitorStatus.ProbeStatusLine(
          subject: t.subject, probe: t.probe.name, health: detectors[t.key]?.state ?? .unknown,
          lastOK: last?.result.succeeded, lastMessage: last?.result.message,
          lastLatencyMs: last.map { $0.result.latency.seconds * 1000 }, lastAt: last?.at, runs: last?.runs ?? 0)
      }
      out.append(
        MonitorStatus.ClusterStatus(
          name: name, tier: guarded.config.tier, health: subjectStates[name, default: .unknown],
          endpoints: guarded.client.endpoints.map(\.description), members: memberRows,
          diagnoses: clusterDiagnoses, findings: findings[name] ?? [], probes: probeLines,
          openIncidents: book.open.values.filter { $0.cluster == name }.sorted { $0.openedAt < $1.openedAt }))
    }
    return MonitorStatus(generatedAt: Self.now(), clusters: out)
  }

  /// The health state of a subject (`cluster` or `cluster/member`).
  public func health(of subject: String) -> HealthState { subjectStates[subject, default: .unknown] }

  /// Open incidents, oldest first.
  public var openIncidents: [Incident] { book.open.values.sorted { $0.openedAt < $1.openedAt } }

  public func currentDiagnoses(cluster: String) -> [Diagnosis] { diagnoses[cluster] ?? [] }
}
