import Foundation
import VigilConfig
import VigilCore
import VigilEtcd

extension Monitor {
  func inspectionLoop(_ cluster: String) async {
    let name = Self.inspectionLoopName(cluster)
    let interval = configuration.inspections.interval.duration
    try? await Task.sleep(for: interval * Double.random(in: 0.05..<0.3))
    while !Task.isCancelled {
      await liveness.checkpoint(name)
      if await guards(cluster) { _ = await inspect(cluster: cluster) }
      liveness.turned(name)
      try? await Task.sleep(for: interval * (1 + Double.random(in: -0.1...0.1)))
    }
  }

  /// One inspection turn: the wait (± 10 %), the member reads (2 s deadline each), a membership read, the store write.
  var inspectionPeriod: Duration {
    configuration.inspections.interval.duration * 1.1 + .seconds(4) + Self.storeWriteAllowance
  }

  /// The declared spec against what each member runs (nothing when no spec is declared).
  func driftFindings(_ guarded: GuardedCluster, listed: [ListedMember], snapshot: ClusterSnapshot) async -> [Finding] {
    guard let spec = guarded.config.spec else { return [] }
    var running: [MemberRunning] = []
    for m in listed where !m.isLearner {
      let status = snapshot.members.first { $0.id == m.id }?.status
      running.append(
        MemberRunning(
          name: m.name, version: status?.version, clientTLS: m.endpoint.map { $0.scheme == .https },
          peerTLS: m.peerURLs.first.map { $0.hasPrefix("https://") },
          arguments: await guarded.memberArguments?(m.name)))
    }
    return Drift.findings(
      cluster: guarded.name, spec: spec, voters: listed.filter { !$0.isLearner }.count, members: running)
  }

  /// The latest disk check of `cluster`, when it missed etcd's bar.
  func diskCheckFindings(_ cluster: String) -> [Finding] {
    guard let result = diskChecks[cluster], result.status != .ok else { return [] }
    return [
      Finding(
        check: "disk-perf", cluster: cluster, severity: result.status == .critical ? .critical : .warning,
        summary: "disk check: \(result.message)",
        evidence: result.metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value))" },
        action: "check the members' disks: etcd wants WAL fdatasync p99 under 10 ms (etcd_disk_wal_fsync_duration_seconds)")
    ]
  }

  var forecastSettings: ForecastSettings {
    let c = configuration.inspections
    var f = ForecastSettings()
    f.window = c.trendWindow.duration.seconds
    f.horizon = c.trendHorizon.duration.seconds
    f.alertWithin = c.trendAlertWithin.duration.seconds
    f.actWithin = c.trendActWithin.duration.seconds
    f.minSamples = c.trendMinSamples
    f.defragmentMinimumBytes = c.fragmentationMinimumBytes
    return f
  }

  /// Runs the directed inspections of `cluster` now and records the findings.
  public func inspect(cluster: String) async -> [Finding] {
    guard let guarded = clusters[cluster] else { return [] }
    if members[cluster] == nil { await refreshMembership(cluster) }
    let listed = members[cluster] ?? []
    let at = Self.now()
    var clients: [UInt64: EtcdClient] = [:]
    for m in listed { clients[m.id] = memberClient(cluster: cluster, m) }
    var snapshot = await InspectionRunner.snapshot(
      cluster: guarded, members: listed, memberClient: { clients[$0.id] },
      learnerFor: watch.learnerAge(cluster: cluster, at: at),
      leaderChanges: watch.leaderChanges(cluster: cluster, lastHourBefore: at), now: at, timeout: .seconds(2))
    if let verifiedAt = guarded.backupVerifiedAt {
      // Since the newest verified backup (or since backups began, before the first is verified).
      snapshot.backupAge = .seconds(max(0, at - (await verifiedAt())))
      snapshot.backupMaxAge = configuration.backup.maxVerifiedAge.duration
    }
    if let standby = guarded.standby {
      snapshot.standby = await standby()
      snapshot.standbyMaxLag = configuration.tiers[guarded.config.tier]?.rpo.duration ?? .seconds(1)
    }
    var thresholds = InspectionThresholds()
    let c = configuration.inspections
    thresholds.quotaRatio = c.quotaRatio
    thresholds.fragmentationRatio = c.fragmentationRatio
    thresholds.fragmentationMinimumBytes = c.fragmentationMinimumBytes
    thresholds.learnerGrace = c.learnerGrace.duration
    thresholds.leaderChangesPerHour = c.leaderChangesPerHour
    thresholds.certificateDays = c.certificateDays
    thresholds.raftLag = UInt64(c.raftLag)
    var samples: [String: CapacitySample] = [:]
    for m in snapshot.members {
      if let st = m.status { samples[m.name] = CapacitySample(at: at, dbSize: st.dbSize, inUse: st.dbSizeInUse) }
    }
    let forecast = forecastSettings
    watch.sampled(cluster: cluster, samples, at: at, keep: forecast.window)
    let drift = await driftFindings(guarded, listed: listed, snapshot: snapshot)
    let found =
      Inspector.inspect(snapshot, thresholds) + drift + diskCheckFindings(cluster) + watch.logFindings(cluster: cluster, at: at)
      + watch.forecasts(
        cluster: cluster, quota: snapshot.quotaBytes, at: at, settings: forecast, churnPerHour: c.leaderChangesPerHour)
    metrics.findings(cluster: cluster, found)
    let alarms = Dictionary(snapshot.members.map { ($0.name, Set($0.alarms)) }, uniquingKeysWith: { a, _ in a })
    carryOut(watch.inspected(cluster: cluster, findings: found, alarms: alarms, at: at))
    do { try await store.record(findings: found, at: at) } catch {
      logger.error("cannot store findings", metadata: ["error": "\(error)"])
    }
    return found
  }
}
