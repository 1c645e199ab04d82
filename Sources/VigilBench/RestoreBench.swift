import Foundation
import Logging
import VigilBackup
import VigilConfig
import VigilCore
import VigilEngine
import VigilEtcd
import VigilRuntime

/// What `vigil bench restore` measures, on a local 3-member cluster it starts and loads with data: the RTO of a
/// quorum lost for good (the leader and a follower killed, their data dirs deleted) → restored from backup by
/// Vigil (P0, restores automatic) → verified healthy; the writes lost (RPO) of a writer running through the
/// fault; and the cost of backups (CPU, bytes). Beside it, floors measured in the same run: `etcdctl snapshot
/// restore` of the snapshot, and a bare 3-member start from it. The command renders; this measures.
public struct RestoreBench: LocalClusterBench {
  public let cluster: LocalCluster
  public let client: EtcdClient
  let logger: Logger

  /// One restore trial.
  public struct Trial: Sendable {
    /// Fault injected → every member answering with one leader and a write accepted.
    public var rto: Double
    /// Change-log records the restore replayed.
    public var replayed: Int
    /// Acknowledged writes of the writer running through the fault that the restore lost, and how long before
    /// the fault the oldest of them was acknowledged.
    public var lostWrites: Int
    public var lostWindow: Double
    /// The restore step's own account (phases).
    public var detail: String
  }

  /// What backups cost while the log phase ran.
  public struct Cost: Sendable {
    /// CPU seconds per hour of Vigil with backups on, and with backups off, under the same writes.
    public var cpuPerHourOn: Double
    public var cpuPerHourOff: Double
    /// Change-log bytes per hour at the write rate, and a full snapshot's size.
    public var logBytesPerHour: Double
    public var snapshotBytes: Int64
  }

  public init(cluster: LocalCluster, client: EtcdClient, logger: Logger) {
    self.cluster = cluster
    self.client = client
    self.logger = logger
  }

  /// `count` small writes (100-byte values) at `rate` per second; returns the CPU seconds of this process
  /// meanwhile and the wall time.
  func write(count: Int, rate: Int, prefix: String) async throws -> (cpu: Double, wall: Double) {
    let value = String(repeating: "w", count: 100)
    let cpu0 = DetectBench.processCPU()
    let t0 = ContinuousClock.now
    let interval = Duration.seconds(1.0 / Double(rate))
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<count {
        group.addTask { _ = try await client.withCallTimeout(.seconds(30)).kv.put("\(prefix)/\(i)", value) }
        if i % 64 == 63 { try await group.next() }  // bounded in flight
        try await Task.sleep(until: t0 + interval * Double(i + 1))
      }
      try await group.waitForAll()
    }
    return (DetectBench.processCPU() - cpu0, (ContinuousClock.now - t0).seconds)
  }

  /// An engine guarding the cluster at P0 with restores automatic, backups in `dir` (or off).
  func withEngine(backups: Bool, dir: String, _ body: (Engine) async throws -> Void) async throws {
    let settings = """
      stateDir: \(dir)/state
      inspections: {interval: 1h}
      scheduler: {membershipInterval: 500ms}
      repair: {maxRepairsPerWindow: 10000, memberTimeout: 120s, restoreMode: auto}
      backup: {enabled: \(backups), dir: \(dir)/backups}
      """
    try await withEngine(settings, logger: logger, body)
  }

  /// Every member answering with one leader, and a write accepted (independent of Vigil).
  func verifiedHealthy() async -> Bool {
    var leaders = Set<UInt64>()
    for endpoint in await cluster.endpoints {
      let pinned = client.member(endpoint)
      let status = try? await pinned.withCallTimeout(.milliseconds(500)).maintenance.status()
      await pinned.shutdown()
      guard let status, status.leader != 0 else { return false }
      leaders.insert(status.leader)
    }
    guard leaders.count == 1 else { return false }
    return (try? await client.withCallTimeout(.seconds(1)).kv.put("/bench/verify", "ok")) != nil
  }

  /// The CPU Vigil spends under `logWrites` writes at `rate`, with backups off (monitor and repair only).
  public func cpuWithoutBackups(logWrites: Int, rate: Int) async throws -> Double {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var perHour = 0.0
    try await withEngine(backups: false, dir: dir) { _ in
      let (cpu, wall) = try await write(count: logWrites, rate: rate, prefix: "/bench/off")
      perHour = cpu / wall * 3600
    }
    return perHour
  }

  /// `trials` restores, each after `logWrites` writes at `rate` made the change log long.
  public func restores(trials: Int, logWrites: Int, rate: Int, floorsAt snapshotFile: (String) async throws -> Void)
    async throws -> (trials: [Trial], cost: Cost)
  {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var results: [Trial] = []
    var cost = Cost(cpuPerHourOn: 0, cpuPerHourOff: 0, logBytesPerHour: 0, snapshotBytes: 0)
    try await withEngine(backups: true, dir: dir) { engine in
      guard let backup = engine.backups.clusters["bench"] else { throw BenchError("no backup service for the cluster") }
      for trial in 0..<trials {
        // A verified snapshot of the current cluster (the first one, or the one after the last restore).
        let since = Date().timeIntervalSince1970
        if trial > 0 { _ = try await backup.snapshotNow(reason: .manual) }
        guard
          try await BenchTiming.wait(timeout: .seconds(300), {
            guard let v = await backup.status.lastVerified else { return false }
            return trial == 0 || v.takenAt >= since
          })
        else { throw BenchError("no verified snapshot before trial \(trial + 1)") }
        if trial == 0, let snap = await backup.status.lastVerified {
          cost.snapshotBytes = snap.size
          let local = dir + "/floor.db"
          try await engine.backupStore?.get(BackupLayout.snapshotKey("bench", snap.id), to: local)
          try await snapshotFile(local)
        }
        // The change log grows by `logWrites` records.
        let logged0 = await backup.writer.bytesSinceSnapshot
        let (cpu, wall) = try await write(count: logWrites, rate: rate, prefix: "/bench/log\(trial)")
        let last = try await client.kv.get("/bench/log\(trial)/\(logWrites - 1)")?.modRevision ?? 0
        guard try await BenchTiming.wait(timeout: .seconds(60), { await backup.writer.persistedRevision >= last }) else {
          throw BenchError("the change log did not reach revision \(last)")
        }
        if trial == 0 {
          cost.cpuPerHourOn = cpu / wall * 3600
          cost.logBytesPerHour = Double(await backup.writer.bytesSinceSnapshot - logged0) / wall * 3600
        }
        // A writer through the fault: what it had acknowledged and the restore lost is the RPO.
        let acked = AckedWrites()
        // The writer runs as a child of this group: cancelled and awaited however the fault section ends.
        let (rto, before, faultAt) = try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { await acked.run(client: client, prefix: "/bench/through\(trial)") }
          defer { group.cancelAll() }
          try await Task.sleep(for: .seconds(2))
          let leader = try await client.maintenance.status().leader
          let members = try await client.cluster.list()
          guard let leaderName = members.first(where: { $0.id == leader })?.name else {
            throw BenchError("trial \(trial + 1): no leader to kill")
          }
          let victims = [leaderName] + members.filter { $0.id != leader }.map(\.name).sorted().prefix(1)
          let before = (try? await engine.store.plans(cluster: "bench", limit: 1).first?.id) ?? 0
          let t0 = ContinuousClock.now
          let faultAt = Date().timeIntervalSince1970
          try await cluster.kill(victims)
          for v in victims { try await cluster.wipe(v) }
          guard try await BenchTiming.wait(timeout: .seconds(300), { await verifiedHealthy() }) else {
            throw BenchError("trial \(trial + 1): not restored within 300 s")
          }
          return ((ContinuousClock.now - t0).seconds, before, faultAt)
        }
        // The plan itself ends with its own verification, a moment after the cluster answers again.
        var plan: RepairPlan?
        _ = try await BenchTiming.wait(timeout: .seconds(60)) {
          plan = (try? await engine.store.plans(cluster: "bench", limit: 20))?.first {
            $0.id > before && $0.runbook == .restoreCluster && $0.state == .succeeded
          }
          return plan != nil
        }
        guard let plan else { throw BenchError("trial \(trial + 1): healthy again, but not by a restore-cluster plan") }
        let (lost, window) = try await acked.lost(client: client, faultAt: faultAt)
        let detail = plan.steps.first { $0.action == .replayChangeLog }?.detail ?? ""
        let replayed = Int(detail.split(separator: "+").dropFirst().first?.split(separator: " ").first ?? "") ?? 0
        results.append(Trial(rto: rto, replayed: replayed, lostWrites: lost, lostWindow: window, detail: detail))
        // Let the cluster settle under the new membership before the next trial.
        guard try await BenchTiming.wait(timeout: .seconds(60), { await engine.monitor.openIncidents.isEmpty }) else {
          throw BenchError("incidents still open after trial \(trial + 1)")
        }
      }
    }
    return (results, cost)
  }

  /// Floor: `etcdctl snapshot restore` of `file` into one data dir.
  public static func etcdctlRestoreFloor(_ file: String) async throws -> Double {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-floor-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let t0 = ContinuousClock.now
    try await EtcdSnapshotTool.restore(
      snapshot: file, name: "f1", peerURL: "http://127.0.0.1:1", initialCluster: [("f1", "http://127.0.0.1:1")], token: "floor",
      dataDir: dir + "/data")
    return (ContinuousClock.now - t0).seconds
  }

  /// Floor: a new 3-member cluster restored from `file` and started until every member answers with a leader.
  public static func bareStartFloor(_ file: String) async throws -> Double {
    var options = LocalClusterOptions(members: 3)
    options.snapshot = file
    options.quotaBackendBytes = 8 << 30
    let t0 = ContinuousClock.now
    let local = try await LocalCluster.start(options)
    let took = (ContinuousClock.now - t0).seconds
    await local.shutdown()
    return took
  }
}

/// A writer that records which of its writes were acknowledged and when.
actor AckedWrites {
  private var acknowledged: [(key: String, at: Double)] = []

  nonisolated func run(client: EtcdClient, prefix: String) async {
    var i = 0
    while !Task.isCancelled {
      let key = "\(prefix)/\(i)"
      if (try? await client.withCallTimeout(.milliseconds(500)).kv.put(key, "x")) != nil {
        await add(key, at: Date().timeIntervalSince1970)
      }
      i += 1
      try? await Task.sleep(for: .milliseconds(10))
    }
  }

  func add(_ key: String, at: Double) { acknowledged.append((key, at)) }

  /// Acknowledged writes missing now, and how long before the fault the oldest of them was acknowledged.
  func lost(client: EtcdClient, faultAt: Double) async throws -> (Int, Double) {
    var missing: [Double] = []
    for (key, at) in acknowledged where try await client.kv.get(key) == nil { missing.append(at) }
    return (missing.count, missing.min().map { max(0, faultAt - $0) } ?? 0)
  }
}
