import Foundation
import VigilAPI
import VigilCore
import VigilEtcd
import VigilOracle
import VigilProxy
import VigilRuntime

/// The drills with a standby site: a site lost, the standby cut off, the mirror restarted, a failover by hand.
extension DrillExecution {
  /// The drill's client of the side serving the pair now.
  func activeAdmin() async -> DrillAdmin {
    guard let sites else { return admin }
    return await vigil.repairs.activeSide(of: clusterName) == sites.standbyName ? sites.standbyAdmin : admin
  }

  /// What the proxy relays to: the healthy members of the pair's active side, as Vigil publishes them.
  func publishedBackends() async -> (label: String, backends: [TCPProxy.Backend]) {
    let entry = EndpointDirectory.entry(clusterName, in: await vigil.monitor.published(pairs: await vigil.repairs.pairs()))
    return (entry?.active ?? clusterName, (entry?.endpoints ?? []).compactMap(TCPProxy.Backend.init(url:)))
  }

  /// The mirror's state as Vigil's status shows it.
  func mirrorStatus() async -> StandbyStatus? {
    await vigil.monitor.status().clusters.first { $0.name == clusterName }?.standby
  }

  /// The mirror runs from `active` and has applied everything that side has (`exactly`), or is within the
  /// tier's RPO of it (under the workload's writes the last revision is rarely applied at the moment of asking).
  func mirrorCaughtUp(from active: String, exactly: Bool = true) async -> Bool {
    guard let s = await mirrorStatus(), s.phase == .mirroring, s.active == active, s.appliedRevision > 0 else {
      return false
    }
    return exactly ? s.lagRevisions == 0 : s.lagSeconds <= 1
  }

  func siteEpisode(random: inout SeededRandom, timeout: Duration) async throws -> DrillEpisode {
    guard let sites else { throw DrillError("\(scenario.name) needs a standby site") }
    var e = DrillEpisode(member: nil, injectedAt: now())
    e.sites = SiteObservation(activeBefore: await vigil.repairs.activeSide(of: clusterName))
    let before = (try? await vigil.store.plans(cluster: clusterName, limit: 1).first?.id) ?? 0
    logger.info("drill: injecting", metadata: ["drill.scenario": "\(scenario.name)"])
    switch scenario.fault {
    case .siteLoss:
      e.members = sites.primaryHosts
      e.injectedAt = now()
      for host in sites.primaryHosts {
        try await network.partition(host: host, scope: scenario.scope, direction: scenario.direction)
      }
      // The site stays dark until Vigil has failed over (and fenced it): then it comes back, as a site does.
      _ = try await promotion(after: before, timeout: timeout)
      for host in sites.primaryHosts { try await network.heal(host: host) }
      e.undoneAt = now()
      try await failedOver(&e, after: before, timeout: timeout)
    case .failoverUnderLoad:
      e.injectedAt = now()
      _ = try await vigil.repairs.failover(cluster: clusterName, by: "drill", reason: "drill: failover under load")
      try await failedOver(&e, after: before, timeout: timeout)
    case .standbyLag:
      e.members = sites.standbyHosts
      e.injectedAt = now()
      for host in sites.standbyHosts {
        try await network.partition(host: host, scope: scenario.scope, direction: scenario.direction)
      }
      let until = ContinuousClock.now + .seconds(scenario.duration)
      while ContinuousClock.now < until {
        await observeLag(&e.sites!)
        try await Task.sleep(for: .milliseconds(100))
      }
      await observeLag(&e.sites!)
      for host in sites.standbyHosts { try await network.heal(host: host) }
      e.undoneAt = now()
      // Catching up a backlog while the primary keeps being written takes longer than a repair: twice the time.
      try await compareStandby(&e, timeout: timeout * 2)
    case .mirrorRestart:
      e.vigilStoppedAt = now()
      await vigil.stop()
      logger.info("drill: Vigil and its mirror stopped; the primary is written meanwhile")
      try await Task.sleep(for: .seconds(scenario.duration))
      try await startVigilAgain()
      e.vigilRestartedAt = now()
      try await compareStandby(&e, timeout: timeout)
      e.sites?.seedsAfter = await mirrorStatus()?.seeds
    default:
      throw DrillError("\(scenario.fault.rawValue) is not a standby-site fault")
    }
    e.sites?.activeAfter = await vigil.repairs.activeSide(of: clusterName)
    return e
  }

  /// The largest lag Vigil shows, and whether it raised a `standby-lag` finding.
  func observeLag(_ s: inout SiteObservation) async {
    if let status = await mirrorStatus() {
      s.maxLagSeconds = max(s.maxLagSeconds, status.lagSeconds)
      s.maxLagRevisions = max(s.maxLagRevisions, status.lagRevisions)
    }
    if let findings = try? await vigil.store.latestFindings(cluster: clusterName), findings.contains(where: { $0.check == "standby-lag" }) {
      s.lagFinding = true
    }
  }

  /// Waits for Vigil's promote-standby plan (created after plan `before`) to end.
  func promotion(after before: Int64, timeout: Duration) async throws -> RepairPlan? {
    let store = vigil.store
    let name = clusterName
    var found: RepairPlan?
    _ = try await wait(timeout: timeout, poll: .milliseconds(50)) {
      found = (try? await store.plans(cluster: name, limit: 10))?.first {
        $0.id > before && $0.runbook == .promoteStandby && $0.state.isFinished
      }
      return found != nil
    }
    return found
  }

  /// After a failover: the new side verified healthy, the fence and the old side's restart dated from the
  /// journal, and the old side rebuilt as the standby of the new one.
  func failedOver(_ e: inout DrillEpisode, after before: Int64, timeout: Duration) async throws {
    let plan = try await promotion(after: before, timeout: timeout)
    try await waitHealthy(&e, timeout: timeout)
    guard let plan else { return }
    let fence = plan.steps.first { $0.action == .fenceSide && $0.state == .done }
    e.sites?.fencedAt = fence?.finishedAt.map(relative)
    e.sites?.oldSideStartedAt = plan.steps.first { $0.action == .startOldSide }?.startedAt.map(relative)
    e.sites?.rpoRevisions = plan.context["failover.lostRevisions"].flatMap { Int64($0) }
    let newSide = await vigil.repairs.activeSide(of: clusterName)
    if try await wait(timeout: .seconds(90), poll: .milliseconds(100), { await self.mirrorCaughtUp(from: newSide, exactly: false) }) {
      e.sites?.standbyRebuiltAt = now()
    }
  }

  /// Waits until the standby has applied everything the primary had when the fault ended (its revision then;
  /// the workload goes on writing meanwhile), then compares their content at the revision the mirror has
  /// reached (the primary's historical read against the standby's at the position written with it, not
  /// half-way through a revision applied in parts). The cluster counts as recovered when they are equal.
  func compareStandby(_ e: inout DrillEpisode, timeout: Duration) async throws {
    guard let sites else { return }
    let primary = admin.whole.withCallTimeout(.seconds(10))
    let standby = sites.standbyAdmin.whole.withCallTimeout(.seconds(10))
    let deadline = ContinuousClock.now + timeout
    var target: Int64?
    while ContinuousClock.now < deadline {
      await observeLag(&e.sites!)
      if target == nil { target = try? await primary.kv.range(MirrorPosition.heartbeatKey, keysOnly: true).revision }
      guard let target,
        try await wait(timeout: .seconds(5), poll: .milliseconds(50), {
          guard let p = try? await self.position(standby) else { return false }
          return p.position.state == .mirroring && p.position.revision >= target
        }),
        let (position, at) = try? await position(standby),
        // Mid-way through a revision applied in parts, the standby holds some of the next revision already.
        position.partsApplied == 0
      else { continue }
      do {
        let source = try await primary.kv.range(from: [0], to: [0], revision: position.revision)
        let copy = try await standby.kv.range(from: [0], to: [0], revision: at)
        let differences = MirrorComparison.differences(
          primary: source.kvs.compactMap(Self.compared), standby: copy.kvs.compactMap(Self.compared), since: since)
        e.sites?.comparedAt = now()
        e.sites?.caughtUpTo = target
        e.sites?.comparedRevision = position.revision
        e.sites?.comparedKeys = source.kvs.count
        e.sites?.differences = differences
        if differences.isEmpty { e.healthyAt = now() }
        return
      } catch {
        logger.warning("drill: comparing the standby with the primary", metadata: ["error": "\(error)"])
      }
    }
  }

  /// The mirror's position on the standby and the standby revision it was written at.
  func position(_ standby: EtcdClient) async throws -> (position: MirrorPosition, at: Int64)? {
    guard let kv = try await standby.kv.get(MirrorPosition.key) else { return nil }
    return (try MirrorPosition.decode(kv.value), kv.modRevision)
  }

  /// Keys both sides must hold alike: everything but Vigil's own (its probes write to each side under their
  /// own names, the position is the standby's) — except the heartbeat, which is mirrored like any key.
  static func compared(_ kv: EtcdKeyValue) -> StoredKey? {
    let key = kv.keyString
    guard !key.hasPrefix("/vigil/") || key == MirrorPosition.heartbeatKey else { return nil }
    return StoredKey(
      key: key, value: kv.valueString, createRevision: kv.createRevision, modRevision: kv.modRevision,
      version: kv.version, lease: kv.lease)
  }
}
