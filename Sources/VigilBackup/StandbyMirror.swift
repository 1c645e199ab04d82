import Foundation
import Logging
import VigilCore
import VigilEtcd
import VigilLoops

/// Settings of one standby mirror (from `standby:`).
public struct StandbyMirrorSettings: Sendable {
  public var maxTxnOps = 128
  public var heartbeatInterval: Duration = .seconds(1)
  public var revisionMargin: Int64 = 1000
  public var leaseTTL: Int64 = 60
  /// Vigil itself made this cluster a standby (a failover's old primary): its content may be replaced.
  public var mayOverwrite = false

  public init() {}
}

/// Mirrors one primary cluster into its standby: a watch of every key from the position stored on the
/// standby, each source revision applied as one transaction (in parts when it has more changes than the
/// standby takes in one), the new position written in the same transaction and guarded by the old one's
/// revision, so a restart resumes exactly and two mirrors never interleave. Leases are re-created on the
/// standby under the same ids and kept alive while the primary's live. A heartbeat written to the primary
/// each `heartbeatInterval` dates the copy (the lag in seconds). ``run()`` holds every loop as a child task.
public actor StandbyMirror {
  /// Which cluster is copied into which: the configured pair at first, turned around by a failover.
  struct Sides: Sendable {
    var primaryName: String
    var standbyName: String
    var primary: EtcdClient
    var standby: EtcdClient
  }

  /// The pair's name (the configured primary's).
  public nonisolated let cluster: String
  public nonisolated let settings: StandbyMirrorSettings
  private var sides: Sides
  private var mayOverwrite: Bool
  /// Set by a failover's drain: nothing more is applied until the mirror is turned around.
  private var paused = false
  /// Bumped when the mirror is paused or turned around; a follow from an older generation ends.
  private var generation = 0
  private let switched = Wakeup()
  /// Records received and not yet applied, and the wake-up of the loop that applies them.
  private var backlog: [ChangeRecord] = []
  private let arrived = Wakeup()
  /// A batch is being applied (a drain waits for its transactions to land before it reports).
  private var applying = false
  let metrics: BackupMetrics
  let audit: @Sendable (AuditEntry) async -> Void
  let logger: Logger
  let now: @Sendable () -> Double
  private let wakeup = Wakeup()

  private var phase: StandbyStatus.Phase = .starting
  private var position: MirrorPosition?
  /// The standby revision the stored position was last written at (the guard of the next write).
  private var positionRevision: Int64 = 0
  private var primaryRevision: Int64 = 0
  private var seeds = 0
  private var lastError: String?
  /// Heartbeats written to the primary (times), newest last, and the one the standby holds.
  private var heartbeats: [Double] = []
  private var heldHeartbeat: Double?
  /// Leases the standby holds for the primary's, with their TTLs.
  private var leases: [Int64: Int64] = [:]
  private var stopped = false

  public init(
    cluster: String, standbyName: String, primary: EtcdClient, standby: EtcdClient, settings: StandbyMirrorSettings,
    metrics: BackupMetrics, audit: @escaping @Sendable (AuditEntry) async -> Void, logger: Logger,
    now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
  ) {
    self.cluster = cluster
    self.sides = Sides(primaryName: cluster, standbyName: standbyName, primary: primary, standby: standby)
    self.mayOverwrite = settings.mayOverwrite
    self.settings = settings
    self.metrics = metrics
    self.audit = audit
    self.logger = logger
    self.now = now
  }

  public var status: StandbyStatus {
    let applied = position?.state == .mirroring ? position?.revision ?? 0 : 0
    return StandbyStatus(
      cluster: cluster, active: sides.primaryName, standby: sides.standbyName, phase: paused ? .stopped : phase, appliedRevision: applied, primaryRevision: primaryRevision,
      lagRevisions: StandbyLag.revisions(primary: primaryRevision, applied: applied), lagSeconds: lagSeconds,
      offset: position?.offset ?? 0, seeds: seeds, lastError: lastError)
  }

  /// The lag in seconds as last measured (when the standby's heartbeat was read, or failed to be).
  private var lagSeconds = 0.0

  /// Runs until cancelled: seeds or resumes, then follows; writes heartbeats; keeps leases; measures lag.
  public func run() async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.mirrorLoop() }
      group.addTask { await self.heartbeatLoop() }
      group.addTask { await self.leaseLoop() }
      group.addTask { await self.lagLoop() }
      await group.waitForAll()
    }
    phase = .stopped
  }

  // MARK: mirroring

  func mirrorLoop() async {
    var forceSeed: String?
    while !Task.isCancelled {
      if paused {
        await switched.wait(.seconds(5))
        continue
      }
      let s = sides
      let began = generation
      do {
        let source = try await sourceID(s)
        let start: MirrorStart
        if let reason = forceSeed {
          start = .seed(reason: reason)
        } else {
          start = try await decideStart(s, source: source)
        }
        forceSeed = nil
        switch start {
        case .refuse(let reason):
          if phase != .refused {
            logger.error("standby refused", metadata: ["cluster": "\(cluster)", "standby": "\(s.standbyName)", "reason": "\(reason)"])
            await audit(
              AuditEntry(
                at: now(), actor: "vigil", action: "standby-refused", cluster: cluster, inputs: "standby \(s.standbyName)",
                result: "not mirrored", reason: reason))
          }
          phase = .refused
          lastError = reason
          await switched.wait(.seconds(10))
          continue
        case .seed(let reason):
          try await seed(s, source: source, reason: reason, generation: began)
        case .resume:
          break
        }
        phase = .mirroring
        lastError = nil
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await self.follow(s, generation: began) }
          group.addTask { await self.waitForSwitch(from: began) }
          _ = try await group.next()
          group.cancelAll()
        }
      } catch let error as EtcdError where error.code == .compacted {
        forceSeed = "the primary compacted past the mirror's position (\(error.message))"
      } catch {
        if Task.isCancelled { return }
        if generation == began { note(error: "\(error)") }
        await switched.wait(.seconds(1))
      }
    }
  }

  private func waitForSwitch(from began: Int) async {
    while generation == began && !Task.isCancelled { await switched.wait(.seconds(60)) }
  }

  private func sourceID(_ s: Sides) async throws -> String {
    let status = try await s.primary.maintenance.status()
    primaryRevision = max(primaryRevision, status.revision)
    return String(status.clusterID, radix: 16)
  }

  private func decideStart(_ s: Sides, source: String) async throws -> MirrorStart {
    let stored = try await s.standby.kv.get(MirrorPosition.key)
    let decoded = try stored.map { try MirrorPosition.decode($0.value) }
    // Both counts at one revision: Vigil's own probes put and delete keys under /vigil/ on the standby all
    // the time, and two counts at two moments could differ by such a key (seen: a fresh standby refused).
    let all = try await s.standby.kv.range("", prefix: true, countOnly: true)
    let total = all.count
    let reserved = try await s.standby.kv.range("/vigil/", prefix: true, revision: all.revision, countOnly: true).count
    let start = MirrorStart.decide(
      position: decoded, source: source, standbyKeys: total - reserved, mayOverwrite: mayOverwrite)
    if case .resume = start {
      position = decoded
      positionRevision = stored?.modRevision ?? 0
    }
    return start
  }

  // MARK: failover

  /// Lets the mirror apply what it already has (at most `timeout`), then stops it: a failover's drain, after
  /// the old side is fenced.
  /// - Returns: the newest source revision applied, and the newest the mirror knew the primary had.
  public func drain(timeout: Duration) async -> (applied: Int64, known: Int64) {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline, !Task.isCancelled {
      if phase == .mirroring, let p = position, p.revision >= primaryRevision { break }
      try? await Task.sleep(for: .milliseconds(50))
    }
    paused = true
    generation += 1
    switched.wake()
    // Transactions already sent land (or fail their guard) before the count is taken.
    let settle = ContinuousClock.now + .seconds(2)
    while applying, ContinuousClock.now < settle { try? await Task.sleep(for: .milliseconds(10)) }
    let applied = position?.state == .mirroring ? position?.revision ?? 0 : 0
    return (applied, max(primaryRevision, applied))
  }

  /// Turns the mirror around after a failover: the new active side is copied into the old one, whose
  /// content is replaced (a seed), as soon as it answers.
  public func switchOver() {
    sides = Sides(primaryName: sides.standbyName, standbyName: sides.primaryName, primary: sides.standby, standby: sides.primary)
    mayOverwrite = true
    position = nil
    positionRevision = 0
    primaryRevision = 0
    heartbeats = []
    heldHeartbeat = nil
    lagSeconds = 0
    leases = [:]
    lastError = nil
    phase = .starting
    paused = false
    generation += 1
    switched.wake()
  }

  /// Copies the primary at one revision: the standby's other keys are deleted and the position marked as
  /// seeding in one transaction; the keys are copied page by page from that revision; the standby's revision
  /// is raised `revisionMargin` above the primary's and compacted; the position is then set to mirroring.
  private func seed(_ s: Sides, source: String, reason: String, generation began: Int) async throws {
    phase = .seeding
    seeds += 1
    metrics.standbySeeded(cluster: cluster, standby: s.standbyName)
    let startedAt = now()
    logger.notice("standby seeding", metadata: ["cluster": "\(cluster)", "standby": "\(s.standbyName)", "reason": "\(reason)"])
    let at = try await s.primary.kv.range("", prefix: true, limit: 1, keysOnly: true).revision
    primaryRevision = max(primaryRevision, at)
    let key = Array(MirrorPosition.key.utf8)
    var marker = MirrorPosition(state: .seeding, source: source, revision: at, offset: 0)
    let cleared = try await s.standby.kv.txn(
      [], success: [.deleteRange(from: [0], to: key), .deleteRange(from: key + [0], to: [0]), .putBytes(key: key, value: marker.encoded(), lease: 0)])
    positionRevision = cleared.revision
    leases = [:]
    var from: [UInt8] = [0]
    var copied = 0
    while true {
      let page = try await s.primary.kv.range(from: from, to: [0], limit: Int64(max(1, settings.maxTxnOps - 1)), revision: at)
      let kvs = page.kvs.filter { $0.key != key }
      if !kvs.isEmpty {
        var ops: [EtcdOp] = []
        for kv in kvs {
          try await ensureLease(kv.lease, s)
          ops.append(.putBytes(key: kv.key, value: kv.value, lease: kv.lease))
        }
        _ = try await s.standby.kv.txn([], success: ops)
        copied += kvs.count
      }
      guard page.more, let last = page.kvs.last else { break }
      from = last.key + [0]
    }
    let bumped = try await ChangeLogReplay(client: s.standby, leaseTTL: settings.leaseTTL)
      .bumpAndCompact(to: at + settings.revisionMargin - 1)
    guard generation == began else { throw CancellationError() }
    marker.state = .mirroring
    marker.offset = bumped + 1 - at  // the revision the next write lands at, minus the source's
    let done = try await s.standby.kv.txn(
      [.modRevision(MirrorPosition.key, .equal, positionRevision)], success: [.putBytes(key: key, value: marker.encoded(), lease: 0)])
    guard done.succeeded else { throw MirrorDecisionError("the standby's position changed while seeding: another mirror writes to it") }
    positionRevision = done.revision
    marker.offset = done.revision - at
    position = marker
    let detail = "\(copied) key(s) copied at revision \(at) in \(String(format: "%.2f", now() - startedAt)) s; standby revision \(done.revision) (offset \(marker.offset))"
    logger.notice("standby seeded", metadata: ["cluster": "\(cluster)", "standby": "\(s.standbyName)", "detail": "\(detail)"])
    await audit(
      AuditEntry(
        at: now(), actor: "vigil", action: "standby-seeded", cluster: cluster, inputs: "standby \(s.standbyName)", result: detail,
        reason: reason))
  }

  /// Follows the primary from the position, until an error: one child receives (every record queued as it
  /// arrives), the other applies whatever has queued, as one batch, while the next batch queues.
  private func follow(_ s: Sides, generation began: Int) async throws {
    guard let start = position else { return }
    backlog = []
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await self.receive(s, after: start.revision) }
      group.addTask { try await self.applyLoop(s, generation: began) }
      try await group.next()
      group.cancelAll()
    }
  }

  private func receive(_ s: Sides, after revision: Int64) async throws {
    var options = EtcdWatchOptions(prefix: true, startRevision: revision + 1, progressNotify: true)
    options.livenessInterval = .seconds(2)
    for try await response in s.primary.watch("", options: options) {
      primaryRevision = max(primaryRevision, response.revision)
      backlog.append(contentsOf: ChangeRecord.records(from: response, receivedAt: now()))
      arrived.wake()
    }
  }

  private func applyLoop(_ s: Sides, generation began: Int) async throws {
    while !Task.isCancelled {
      guard !backlog.isEmpty else {
        await arrived.wait(.seconds(1))
        continue
      }
      let batch = backlog
      backlog = []
      applying = true
      defer { applying = false }
      try await apply(batch, s, generation: began)
    }
  }

  /// Applies records in order. Runs of whole revisions are sent together (at most `maxInFlight` at once),
  /// each transaction guarded by the exact position value the one before it writes, so etcd applies them in
  /// order or not at all; a transaction that finds another position (a reordering, another writer) makes the
  /// mirror read the stored position again and go on one transaction at a time. A revision split into parts
  /// goes alone.
  func apply(_ records: [ChangeRecord], _ s: Sides, generation began: Int) async throws {
    var run: [(record: ChangeRecord, ops: [EtcdOp])] = []
    for record in records {
      guard let p = position else { throw MirrorDecisionError("no position to apply from") }
      if record.revision <= p.revision { continue }  // already applied (a resumed watch)
      let ops = try await operations(record, s)
      if ops.count > settings.maxTxnOps - 1 || (p.partsApplied > 0 && run.isEmpty) {
        try await sendRun(run, s, generation: began)
        run = []
        try await apply(record, s, generation: began)
      } else {
        run.append((record, ops))
      }
    }
    try await sendRun(run, s, generation: began)
  }

  static let maxInFlight = 128

  private func sendRun(_ run: [(record: ChangeRecord, ops: [EtcdOp])], _ s: Sides, generation began: Int) async throws {
    guard !run.isEmpty else { return }
    if run.count == 1 {
      try await apply(run[0].record, s, generation: began)
      return
    }
    let key = Array(MirrorPosition.key.utf8)
    var start = 0
    while start < run.count {
      guard generation == began, !paused, var p = position else { throw CancellationError() }
      let window = Array(run[start..<min(start + Self.maxInFlight, run.count)])
      var chain: [(previous: String, next: MirrorPosition, ops: [EtcdOp])] = []
      for item in window {
        guard item.record.revision == p.revision + 1 else {
          throw MirrorDecisionError(
            "the watch skipped from revision \(p.revision) to \(item.record.revision): the standby would miss changes")
        }
        var n = p
        n.revision = item.record.revision
        n.partsApplied = 0
        chain.append((String(decoding: p.encoded(), as: UTF8.self), n, item.ops))
        p = n
      }
      let results = try await withThrowingTaskGroup(of: EtcdTxnResult.self, returning: [EtcdTxnResult].self) { group in
        for link in chain {
          group.addTask {
            try await s.standby.kv.txn(
              [.value(MirrorPosition.key, .equal, link.previous)],
              success: link.ops + [.putBytes(key: key, value: link.next.encoded(), lease: 0)])
          }
        }
        var out: [EtcdTxnResult] = []
        for try await r in group { out.append(r) }
        return out
      }
      if results.allSatisfy(\.succeeded) {
        position = chain.last?.next
        positionRevision = results.map(\.revision).max() ?? positionRevision
        start += window.count
        continue
      }
      // Not all in order: what does the standby hold?
      guard let stored = try await s.standby.kv.get(MirrorPosition.key) else {
        throw MirrorDecisionError("the standby's position disappeared while mirroring")
      }
      position = try MirrorPosition.decode(stored.value)
      positionRevision = stored.modRevision
      for item in run[start...] where item.record.revision > (position?.revision ?? 0) {
        try await apply(item.record, s, generation: began)
      }
      return
    }
  }

  /// The standby operations of one source revision (leases it needs granted first).
  private func operations(_ record: ChangeRecord, _ s: Sides) async throws -> [EtcdOp] {
    var ops: [EtcdOp] = []
    for event in record.events where event.key != Data(MirrorPosition.key.utf8) {
      switch event.kind {
      case .put:
        try await ensureLease(event.lease, s)
        ops.append(.putBytes(key: Array(event.key), value: Array(event.value), lease: event.lease))
      case .delete:
        ops.append(.deleteBytes(key: Array(event.key)))
      }
    }
    return ops
  }

  /// Applies one source revision: one transaction, or parts of at most `maxTxnOps` operations each, every
  /// part carrying the position it reaches, guarded by the position's revision.
  func apply(_ record: ChangeRecord, _ s: Sides, generation began: Int) async throws {
    guard generation == began, !paused else { throw CancellationError() }
    guard var next = position, record.revision == next.revision + 1 else {
      if let p = position, record.revision <= p.revision { return }  // already applied (a resumed watch)
      throw MirrorDecisionError(
        "the watch skipped from revision \(position?.revision ?? 0) to \(record.revision): the standby would miss changes")
    }
    let ops = try await operations(record, s)
    let parts = Self.parts(ops, size: settings.maxTxnOps - 1)
    let key = Array(MirrorPosition.key.utf8)
    for (i, part) in parts.enumerated() where i >= next.partsApplied {
      let last = i == parts.count - 1
      var reached = next
      if last {
        reached.revision = record.revision
        reached.partsApplied = 0
      } else {
        reached.partsApplied = i + 1
      }
      let expected = positionRevision + 1
      let result = try await s.standby.kv.txn(
        [.modRevision(MirrorPosition.key, .equal, positionRevision)],
        success: part + [.putBytes(key: key, value: reached.encoded(), lease: 0)])
      guard result.succeeded else {
        position = nil
        throw MirrorDecisionError(
          "the standby's position moved under the mirror (another mirror, or a person, wrote it): reading it again")
      }
      if last { reached.offset = result.revision - record.revision }
      if result.revision != expected, last, parts.count == 1 {
        // Vigil's own KV probes write to the standby too: the offset only grows (revisions stay ahead).
        logger.debug(
          "standby written by someone else",
          metadata: ["cluster": "\(cluster)", "standby": "\(s.standbyName)", "expected": "\(expected)", "got": "\(result.revision)"])
      }
      positionRevision = result.revision
      next = reached
      position = reached
    }
  }

  /// `ops` in parts of at most `size` (one empty part when there are none: every source revision writes).
  static func parts(_ ops: [EtcdOp], size: Int) -> [[EtcdOp]] {
    guard !ops.isEmpty else { return [[]] }
    return stride(from: 0, to: ops.count, by: max(1, size)).map { Array(ops[$0..<min($0 + max(1, size), ops.count)]) }
  }

  // MARK: leases

  /// Grants `id` on the standby (same id, the primary's TTL) unless the standby already holds it.
  private func ensureLease(_ id: Int64, _ s: Sides) async throws {
    guard id != 0, leases[id] == nil else { return }
    var ttl = settings.leaseTTL
    if let live = try? await s.primary.lease.timeToLive(id), live.grantedTTL > 0 { ttl = live.grantedTTL }
    do { _ = try await s.standby.lease.grant(ttl: ttl, id: id) } catch {
      if !error.message.contains("lease already exists") { throw error }
    }
    leases[id] = ttl
  }

  /// Keeps the standby's leases alive while the primary's are; a lease the primary no longer has is revoked
  /// on the standby once no key is attached to it there (its keys' deletes come through the watch, and a
  /// revoke that deleted keys itself would add a revision the primary never had).
  func leaseLoop() async {
    while !Task.isCancelled {
      let shortest = leases.values.min() ?? settings.leaseTTL
      await wakeup.wait(.milliseconds(max(500, shortest * 1000 / 3)))
      guard phase == .mirroring, !paused, !leases.isEmpty else { continue }
      let s = sides
      var alive: [Int64] = []
      for id in leases.keys.sorted() {
        guard let onPrimary = try? await s.primary.lease.timeToLive(id) else {
          alive.append(id)  // the primary does not answer: keep the copy alive (a failover may need it)
          continue
        }
        if onPrimary.ttl > 0 {
          alive.append(id)
        } else if let mine = try? await s.standby.lease.timeToLive(id, keys: true), mine.keys.isEmpty {
          try? await s.standby.lease.revoke(id)
          leases[id] = nil
        } else {
          alive.append(id)
        }
      }
      do {
        let renewed = try await s.standby.lease.renew(alive)
        for (id, ttl) in renewed where ttl <= 0 { leases[id] = nil }
      } catch {
        if !Task.isCancelled { note(error: "keeping the standby's leases alive: \(error.message)") }
      }
    }
  }

  // MARK: heartbeat and lag

  /// Writes the time to the primary's heartbeat key every `heartbeatInterval`.
  func heartbeatLoop() async {
    while !Task.isCancelled {
      let at = now()
      if !paused, let written = try? await sides.primary.kv.put(MirrorPosition.heartbeatKey, String(format: "%.3f", at)) {
        primaryRevision = max(primaryRevision, written.revision)
        heartbeats.append(at)
        if heartbeats.count > 600 { heartbeats.removeFirst(heartbeats.count - 600) }
      }
      await wakeup.wait(settings.heartbeatInterval)
    }
  }

  /// Reads the heartbeat the standby holds, every `heartbeatInterval`, and reports the lag.
  func lagLoop() async {
    while !Task.isCancelled {
      await wakeup.wait(settings.heartbeatInterval)
      if !paused, let kv = try? await sides.standby.kv.get(MirrorPosition.heartbeatKey, consistency: .serializable),
        let held = Double(kv.valueString)
      {
        heldHeartbeat = held
        if let oldest = heartbeats.firstIndex(where: { $0 >= held }), oldest > 0 { heartbeats.removeFirst(oldest) }
      }
      // Measured now, against what the standby held at this read (an unanswered read keeps the old one: the
      // lag grows).
      lagSeconds = StandbyLag.seconds(onStandby: heldHeartbeat, written: heartbeats, now: now())
      let s = status
      metrics.standbyLag(cluster: cluster, standby: s.standby, revisions: s.lagRevisions, seconds: s.lagSeconds)
    }
  }

  private func note(error: String) {
    lastError = error
    logger.error("standby mirror", metadata: ["cluster": "\(cluster)", "standby": "\(sides.standbyName)", "error": "\(error)"])
  }
}
