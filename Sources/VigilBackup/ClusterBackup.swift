import Foundation
import Logging
import VigilCore
import VigilEtcd
import VigilLoops

/// How many backup verifications (each a scratch etcd) may run at once in this process; share one value
/// among every cluster's ``ClusterBackup``.
public struct VerificationSlots: Sendable {
  let limiter: AsyncLimiter
  public init(_ count: Int = 2) { limiter = AsyncLimiter(limit: count) }
}

/// Settings of one cluster's backups (from `backup:` and the cluster's tier).
public struct ClusterBackupSettings: Sendable {
  public var policy = BackupPolicy()
  public var flushInterval: Duration = .milliseconds(200)
  public var segmentSpan: Duration = .seconds(10)
  public var verify = true
  public var leaseTTL: Int64 = 60

  public init() {}
}

/// What `/status`, the inspection and the CLI show of a cluster's backups.
public struct BackupStatus: Sendable, Hashable, Codable {
  public var cluster: String
  public var lastSnapshot: SnapshotRecord?
  public var lastVerified: SnapshotRecord?
  /// The newest revision the change log persisted, and when.
  public var changeLogRevision: Int64
  public var changeLogPersistedAt: Double?
  public var lastError: String?
}

/// One cluster's backups, as a service: the change log (a watch of every key from the log's last revision,
/// flushed every `flushInterval`, sealed into the store every `segmentSpan`), full snapshots when the
/// schedule says (interval, log bound, compaction gap) or a repair asks, each verified by a real restore, and
/// retention after each. ``run()`` holds every loop as a child task; ``snapshotNow(reason:)`` may be called from
/// any task (snapshots run one at a time).
public actor ClusterBackup {
  public nonisolated let cluster: String
  public nonisolated let client: EtcdClient
  public nonisolated let store: any BackupStore
  public nonisolated let settings: ClusterBackupSettings
  public nonisolated let writer: ChangeLogWriter
  let taker: SnapshotTaker
  let verifier: BackupVerifier
  let metrics: BackupMetrics
  let audit: @Sendable (AuditEntry) async -> Void
  let logger: Logger
  let now: @Sendable () -> Double
  private let oneAtATime = AsyncLimiter(limit: 1)
  /// Shared by every cluster of a process: how many scratch etcds verify at once (a fleet starting up must
  /// not start one per cluster at the same moment).
  private let verifications: AsyncLimiter
  private let wakeup = Wakeup()

  private var progress = BackupProgress()
  private var lastSnapshot: SnapshotRecord?
  private var lastVerified: SnapshotRecord?
  private var lastError: String?
  /// When the watch last answered (events or progress), and the newest such time already flushed.
  private var heardAt: Double?
  private var caughtUpAt: Double?
  /// When this service began (the backup age counts from it until a snapshot is verified).
  private let startedAt: Double
  /// The revision the log continues after (the watch starts at the next one).
  private var resumeAfter: Int64 = 0

  public init(
    cluster: String, client: EtcdClient, store: any BackupStore, stateDir: String, settings: ClusterBackupSettings,
    metrics: BackupMetrics, audit: @escaping @Sendable (AuditEntry) async -> Void, logger: Logger,
    verifications: VerificationSlots = VerificationSlots(),
    now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
  ) {
    self.verifications = verifications.limiter
    self.cluster = cluster
    self.client = client
    self.store = store
    self.settings = settings
    let spool = (stateDir as NSString).appendingPathComponent("backup/\(cluster)")
    self.writer = ChangeLogWriter(cluster: cluster, store: store, spool: spool, segmentSpan: settings.segmentSpan)
    self.taker = SnapshotTaker(cluster: cluster, client: client, store: store, spool: spool + "/spool")
    self.verifier = BackupVerifier(
      cluster: cluster, client: client, store: store, scratch: spool + "/scratch", leaseTTL: settings.leaseTTL,
      logger: logger)
    self.metrics = metrics
    self.audit = audit
    self.logger = logger
    self.now = now
    self.startedAt = now()
  }

  /// When the newest snapshot was verified, or when this service began if none is yet.
  public var verifiedAt: Double { lastVerified?.verifiedAt ?? startedAt }

  public var status: BackupStatus {
    get async {
      BackupStatus(
        cluster: cluster, lastSnapshot: lastSnapshot, lastVerified: lastVerified,
        changeLogRevision: await writer.persistedRevision, changeLogPersistedAt: await writer.persistedAt,
        lastError: lastError)
    }
  }

  /// Runs until cancelled: reads what is stored, takes the first snapshot if there is none, then follows,
  /// flushes and schedules.
  public func run() async {
    while !Task.isCancelled {
      do {
        try await start()
        break
      } catch {
        note(error: "\(error)")
        await wakeup.wait(.seconds(2))
      }
    }
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.follow() }
      group.addTask { await self.flushLoop() }
      group.addTask { await self.scheduleLoop() }
      await group.waitForAll()
    }
    _ = try? await writer.seal(force: true, now: now())
  }

  func start() async throws {
    try await store.prepare()
    let logged = try await writer.resume()
    let stored = try await BackupCatalogue(store: store, cluster: cluster).snapshots().records
    lastSnapshot = stored.last
    lastVerified = stored.last { $0.verification == .verified }
    progress.lastSnapshotAt = stored.last?.takenAt
    if let lastVerified { metrics.verified(cluster: cluster, at: lastVerified.verifiedAt ?? lastVerified.takenAt) }
    if let last = stored.last { metrics.snapshotTaken(cluster: cluster, at: last.takenAt) }
    await measureStoredBytes()
    var base = stored.last { $0.verification != .failed }?.revisionAtStart ?? 0
    if stored.isEmpty || max(logged, base) == 0 { base = try await snapshotNow(reason: .start).revisionAtStart }
    resumeAfter = max(logged, base)
    if resumeAfter > logged {
      // The snapshot is ahead of the log (which stopped before it, or never ran): the log goes on from the
      // snapshot, in a new segment, so no segment has a gap inside.
      _ = try await writer.seal(force: true, now: now())
      await writer.skip(to: resumeAfter)
    }
  }

  /// Takes a full snapshot now, verifies it and prunes (one at a time; a caller that queues behind another
  /// snapshot gets its own fresh one).
  @discardableResult
  public nonisolated func snapshotNow(reason: SnapshotReason) async throws -> SnapshotRecord {
    let result: Result<SnapshotRecord, any Error> = await oneAtATime.run { @Sendable in
      do { return .success(try await self.takeVerifyPrune(reason: reason)) } catch { return .failure(error) }
    }
    return try result.get()
  }

  private func takeVerifyPrune(reason: SnapshotReason) async throws -> SnapshotRecord {
    let started = now()
    var record: SnapshotRecord
    do { record = try await taker.take(reason: reason, now: Date(timeIntervalSince1970: started)) } catch {
      note(error: "\(error)")
      metrics.snapshotFailed(cluster: cluster)
      throw error
    }
    await writer.resetSinceSnapshot()
    progress.lastSnapshotAt = record.takenAt
    progress.compactionGap = false
    lastSnapshot = record
    metrics.snapshotTaken(cluster: cluster, at: record.takenAt)
    logger.info(
      "snapshot stored",
      metadata: [
        "cluster": "\(cluster)", "snapshot": "\(record.id)", "member": "\(record.member)", "bytes": "\(record.size)",
        "reason": "\(reason.rawValue)", "store": "\(store.description)",
      ])
    // A snapshot before a membership change is verified after it (the change waits only for the stream).
    if settings.verify, reason != .membershipChange {
      record = await verify(record)
    }
    await prune()
    return record
  }

  /// Restores `record` in a scratch etcd with the change log on top and compares (see ``BackupVerifier``).
  private func verify(_ pending: SnapshotRecord) async -> SnapshotRecord {
    var record = pending
    // The log since the snapshot began, sealed and open: verification replays it on top.
    try? await writer.flush(now: now())
    let catalogue = BackupCatalogue(store: store, cluster: cluster)
    var log = (try? await catalogue.records(of: try await catalogue.segments(), after: record.revisionAtStart)) ?? []
    log += await writer.openRecords().filter { $0.revision > (log.last?.revision ?? record.revisionAtStart) }
    let verifier = self.verifier
    let toVerify = record
    let replayed = log
    let now = self.now
    record = await verifications.run { @Sendable in await verifier.verify(toVerify, changeLog: replayed, now: now) }
    if lastSnapshot?.id == record.id { lastSnapshot = record }
    if record.verification == .verified {
      lastVerified = record
      metrics.verified(cluster: cluster, at: record.verifiedAt ?? now())
      logger.info(
        "snapshot verified",
        metadata: ["cluster": "\(cluster)", "snapshot": "\(record.id)", "detail": "\(record.verificationDetail ?? "")"])
    } else {
      metrics.verificationFailed(cluster: cluster)
      note(error: "snapshot \(record.id) failed verification: \(record.verificationDetail ?? "")")
      await audit(
        AuditEntry(
          at: now(), actor: "vigil", action: "backup-verification-failed", cluster: cluster, inputs: "snapshot \(record.id)",
          result: "failed: \(record.verificationDetail ?? "")", reason: "every backup is restored and compared"))
    }
    return record
  }

  /// Verifies the newest snapshot if it is still pending (one taken before a membership change).
  func verifyPending() async {
    guard settings.verify, let pending = lastSnapshot, pending.verification == .pending else { return }
    await oneAtATime.run { @Sendable in await self.verifyIfStillNewest(pending.id) }
  }

  /// A snapshot that is no longer the newest when its turn comes was superseded (and perhaps pruned): left alone.
  private func verifyIfStillNewest(_ id: String) async {
    guard let pending = lastSnapshot, pending.id == id, pending.verification == .pending else { return }
    _ = await verify(pending)
  }

  /// Applies retention: deletes snapshots and segments no kept snapshot needs; each removal is logged and audited.
  func prune() async {
    let catalogue = BackupCatalogue(store: store, cluster: cluster)
    do {
      let snapshots = try await catalogue.snapshots().records
      let segments = try await catalogue.segments()
      let decision = Retention.prune(snapshots: snapshots, segments: segments, policy: settings.policy.retention)
      for s in decision.snapshots {
        try await store.delete(BackupLayout.snapshotKey(cluster, s.id))
        try await store.delete(BackupLayout.recordKey(cluster, s.id))
        logger.info("snapshot pruned", metadata: ["cluster": "\(cluster)", "snapshot": "\(s.id)"])
        await audit(
          AuditEntry(
            at: now(), actor: "vigil", action: "backup-pruned", cluster: cluster, inputs: "snapshot \(s.id) (\(s.verification.rawValue))",
            result: "deleted", reason: "retention: outside the hourly/daily/weekly tiers"))
      }
      for s in decision.segments {
        try await store.delete(s.key)
        await audit(
          AuditEntry(
            at: now(), actor: "vigil", action: "backup-pruned", cluster: cluster,
            inputs: "change log \(s.firstRevision)-\(s.lastRevision)", result: "deleted",
            reason: "retention: no kept snapshot needs it"))
      }
    } catch {
      note(error: "retention failed: \(error)")
    }
    await measureStoredBytes()
  }

  /// `vigil_backup_bytes`: everything stored for the cluster.
  func measureStoredBytes() async {
    if let bytes = try? await store.list(prefix: "\(cluster)/").reduce(Int64(0), { $0 + $1.size }) {
      metrics.storedBytes(cluster: cluster, bytes)
    }
  }

  /// Seals the open change-log segment into the store now (before a restore reads the store).
  public func sealNow() async throws {
    try await writer.seal(force: true, now: now())
  }

  // MARK: loops

  func follow() async {
    while !Task.isCancelled {
      var options = EtcdWatchOptions(prefix: true, startRevision: resumeAfter + 1, prevKV: true, progressNotify: true)
      options.livenessInterval = .seconds(2)
      do {
        for try await response in client.watch("", options: options) {
          let at = now()
          heardAt = at
          let records = ChangeRecord.records(from: response, receivedAt: at)
          if let last = records.last { resumeAfter = last.revision }
          await writer.append(records)
        }
      } catch let error as EtcdError where error.code == .compacted {
        // The log cannot continue from where it is: seal what it has, take a full snapshot at once, and go on
        // from that snapshot.
        logger.warning("change log gap", metadata: ["cluster": "\(cluster)", "error": "\(error.message)"])
        progress.compactionGap = true
        metrics.compactionGap(cluster: cluster)
        await audit(
          AuditEntry(
            at: now(), actor: "vigil", action: "backup-gap", cluster: cluster, inputs: "change log after revision \(resumeAfter)",
            result: error.message, reason: "the watch's start revision was compacted; a full snapshot closes the gap"))
        _ = try? await writer.seal(force: true, now: now())
        if let record = try? await snapshotNow(reason: .compactionGap) {
          resumeAfter = record.revisionAtStart
          await writer.skip(to: record.revisionAtStart)
        } else {
          await wakeup.wait(.seconds(2))
        }
      } catch {
        if Task.isCancelled { return }
        note(error: "change log watch: \(error)")
        await wakeup.wait(.seconds(1))
      }
    }
  }

  func flushLoop() async {
    var lastMark: Int64 = 0
    while !Task.isCancelled {
      await wakeup.wait(settings.flushInterval)
      let heard = heardAt
      do {
        try await writer.flush(now: now())
        if heard != nil { caughtUpAt = heard }
        if let sealed = try await writer.seal(now: now()), sealed.lastRevision > lastMark {
          try await BackupCatalogue(store: store, cluster: cluster).saveWatermark(sealed.lastRevision, at: now())
          lastMark = sealed.lastRevision
        }
      } catch {
        note(error: "change log write: \(error)")
      }
      if let caughtUpAt { metrics.changeLogLag(cluster: cluster, seconds: max(0, now() - caughtUpAt)) }
    }
  }

  func scheduleLoop() async {
    while !Task.isCancelled {
      await wakeup.wait(.seconds(1))
      var p = progress
      p.eventsSinceSnapshot = await writer.eventsSinceSnapshot
      p.bytesSinceSnapshot = await writer.bytesSinceSnapshot
      await verifyPending()
      if let reason = BackupSchedule.snapshotDue(p, now: now(), policy: settings.policy) {
        _ = try? await snapshotNow(reason: reason)
        if lastSnapshot?.takenAt ?? 0 < now() - 5 { await wakeup.wait(.seconds(5)) }  // failing: do not hammer
      }
    }
  }

  private func note(error: String) {
    lastError = error
    logger.error("backup", metadata: ["cluster": "\(cluster)", "error": "\(error)"])
  }
}
