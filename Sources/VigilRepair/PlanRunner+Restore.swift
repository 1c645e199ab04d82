import Foundation
import VigilBackup
import VigilCore
import VigilEtcd
import VigilRuntime

/// The steps of restore-cluster and restart-members: they act on every member the plan names
/// (`context["members"]`, with each member's URLs as last listed), not on one.
extension PlanRunner {
  /// The members a cluster-wide plan acts on, in order.
  func planMembers(_ plan: RepairPlan) -> [String] {
    (plan.context["members"] ?? "").split(separator: ",").map(String.init)
  }

  /// Where `name` lives, from the runtime (given its URLs as last listed).
  func memberSpec(named name: String, in plan: RepairPlan) async throws -> MemberSpec {
    let runtime = try requireRuntime()
    let listed = plan.context["peer.\(name)"].map {
      EtcdMember(id: 0, name: name, peerURLs: [$0], clientURLs: plan.context["client.\(name)"].map { [$0] } ?? [])
    }
    guard let spec = await runtime.spec(of: name, listed: listed) else {
      throw RuntimeError("the \(runtime.kind) runtime does not know member \(name) of \(plan.cluster)")
    }
    return spec
  }

  /// How many of the members answer a status call with a leader now.
  func answering(_ specs: [MemberSpec]) async -> [String] {
    let endpoints = specs.compactMap { try? EtcdEndpoint(parsing: $0.clientURL) }
    let results = await client.statuses(of: endpoints, timeout: .seconds(1))
    return zip(specs, results).compactMap { spec, result in
      if case .success(let s) = result, s.leader != 0 { return spec.name }
      return nil
    }
  }

  func confirmQuorumLost(_ plan: RepairPlan) async throws -> String {
    let specs = try await allSpecs(plan)
    let alive = await answering(specs)
    if let refusal = SafetyGuard.restoreRefusal(answering: alive.count, voters: specs.count) { throw RuntimeError(refusal) }
    guard backup != nil else {
      throw RuntimeError("\(plan.cluster) has no backups (backup.enabled is false): nothing to restore from")
    }
    return "\(alive.count) of \(specs.count) voters answer with a leader (\(alive.joined(separator: ", "))): quorum is lost"
  }

  func allSpecs(_ plan: RepairPlan) async throws -> [MemberSpec] {
    var specs: [MemberSpec] = []
    for name in planMembers(plan) { specs.append(try await memberSpec(named: name, in: plan)) }
    guard !specs.isEmpty else { throw RuntimeError("the plan names no members") }
    return specs
  }

  func fenceAll(_ plan: RepairPlan) async throws -> String {
    let specs = try await allSpecs(plan)
    // The guard again, right before acting: a majority that came back in the meantime is left alone.
    let alive = await answering(specs)
    if let refusal = SafetyGuard.restoreRefusal(answering: alive.count, voters: specs.count) { throw RuntimeError(refusal) }
    let runtime = try requireRuntime()
    for spec in specs { try await runtime.kill(spec) }
    return "\(specs.map(\.name).joined(separator: ", ")) stopped; their data dirs will be retired, never reused"
  }

  /// Picks the newest verified snapshot and the change log after it, and builds the final snapshot offline
  /// (replayed, revision raised above what clients saw, compacted): clients never see the cluster before that.
  func replayChangeLog(_ plan: inout RepairPlan) async throws -> String {
    guard let backup else { throw RuntimeError("\(plan.cluster) has no backups") }
    // What the log holds but the store does not yet: the open segment is sealed first.
    try? await backup.sealNow()
    let directory = restoreDirectory(plan)
    let began = ContinuousClock.now
    let inputs = try await BackupRestore.prepare(
      store: backup.store, cluster: plan.cluster, target: .latest, directory: directory,
      extra: await backup.writer.openRecords())
    let fetched = (ContinuousClock.now - began).seconds
    let (outcome, file) = try await BackupRestore.rebuild(
      inputs, directory: directory, margin: Int64(restoreSettings.revisionMargin), leaseTTL: restoreSettings.leaseTTL,
      logger: logger)
    try? FileManager.default.removeItem(atPath: inputs.file)
    let lostRevisions = max(0, inputs.watermark - outcome.restoredRevision)
    // When the fault was first seen (the plan may have waited for a person since).
    let faultAt = min(plan.context["since"].flatMap(Double.init) ?? plan.createdAt, plan.createdAt)
    let lostSeconds = max(0, faultAt - outcome.dataTime)
    plan.context["restore.file"] = file
    plan.context["restore.snapshot"] = inputs.snapshot.id
    plan.context["restore.revision"] = String(outcome.restoredRevision)
    plan.context["restore.finalRevision"] = String(outcome.finalRevision)
    plan.context["restore.lostRevisions"] = String(lostRevisions)
    plan.context["restore.lostSeconds"] = String(format: "%.3f", lostSeconds)
    return "snapshot \(inputs.snapshot.id) (revision \(inputs.snapshot.revision)) + \(outcome.replayedRecords) change-log records replayed offline to revision \(outcome.restoredRevision); highest revision seen before was \(inputs.watermark): RPO \(lostRevisions) revision(s); the newest restored change reached Vigil \(String(format: "%.2f", lostSeconds)) s before the fault was seen; revision raised to \(outcome.finalRevision) and compacted there (watches from before fail as compacted); fetch \(String(format: "%.2f", fetched)) s, \(outcome.phaseSummary)"
  }

  func restoreDirectory(_ plan: RepairPlan) -> String {
    (snapshotDir as NSString).appendingPathComponent("restore-\(plan.cluster)-\(plan.id)")
  }

  /// Restores every member's data dir from the rebuilt snapshot, with a new cluster token.
  func restoreAll(_ plan: inout RepairPlan) async throws -> String {
    guard let file = plan.context["restore.file"], FileManager.default.fileExists(atPath: file) else {
      throw RuntimeError("the rebuilt snapshot is missing (replay-change-log must run first)")
    }
    let specs = try await allSpecs(plan)
    let token = plan.context["restore.token"] ?? "vigil-\(plan.cluster)-restore-\(plan.id)-\(Int(Self.now()))"
    plan.context["restore.token"] = token
    let initial = specs.map { (name: $0.name, peerURL: $0.peerURL) }
    let runtime = try requireRuntime()
    // Every member at once: each is its own etcdctl run over the same file.
    try await withThrowingTaskGroup(of: Void.self) { group in
      for spec in specs {
        group.addTask { try await runtime.restore(spec, snapshot: file, initialCluster: initial, token: token) }
      }
      try await group.waitForAll()
    }
    return "\(specs.map(\.name).joined(separator: ", ")) restored from the rebuilt snapshot (revision \(plan.context["restore.finalRevision"] ?? "?")) with cluster token \(token); the old data dirs are retired"
  }

  func startAll(_ plan: RepairPlan) async throws -> String {
    let specs = try await allSpecs(plan)
    let runtime = try requireRuntime()
    for spec in specs { try await runtime.start(spec, initialCluster: nil) }
    var lines: [String] = []
    for spec in specs { lines.append(try await waitHealthy(clientURL: spec.clientURL, name: spec.name)) }
    try? FileManager.default.removeItem(atPath: restoreDirectory(plan))
    return lines.joined(separator: "; ")
  }
}

/// What a restore needs beyond the store.
public struct RestoreSettings: Sendable {
  public var leaseTTL: Int64 = 60
  public var revisionMargin = 1000
  /// How long a failover waits for the mirror to apply what it already received.
  public var failoverDrainTimeout: Duration = .seconds(5)
  public init() {}
}
