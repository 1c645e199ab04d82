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

  func restoreAll(_ plan: inout RepairPlan) async throws -> String {
    guard let backup else { throw RuntimeError("\(plan.cluster) has no backups") }
    let specs = try await allSpecs(plan)
    // What the log holds but the store does not yet: the open segment is sealed first.
    try? await backup.sealNow()
    let directory = (snapshotDir as NSString).appendingPathComponent("restore-\(plan.cluster)-\(plan.id)")
    let inputs = try await BackupRestore.prepare(
      store: backup.store, cluster: plan.cluster, target: .latest, directory: directory,
      extra: await backup.writer.openRecords())
    restoreState.inputs = inputs
    let token = "vigil-\(plan.cluster)-restore-\(plan.id)-\(Int(Self.now()))"
    let initial = specs.map { (name: $0.name, peerURL: $0.peerURL) }
    let runtime = try requireRuntime()
    for spec in specs { try await runtime.restore(spec, snapshot: inputs.file, initialCluster: initial, token: token) }
    plan.context["restore.snapshot"] = inputs.snapshot.id
    plan.context["restore.revision"] = String(inputs.dataRevision)
    plan.context["restore.dataTime"] = String(inputs.dataTime)
    plan.context["restore.watermark"] = String(inputs.watermark)
    plan.context["restore.token"] = token
    return "\(specs.count) members restored from snapshot \(inputs.snapshot.id) (revision \(inputs.snapshot.revision)) with cluster token \(token); \(inputs.records.count) change-log records to replay up to revision \(inputs.dataRevision)"
  }

  func startAll(_ plan: RepairPlan) async throws -> String {
    let specs = try await allSpecs(plan)
    let runtime = try requireRuntime()
    for spec in specs { try await runtime.start(spec, initialCluster: nil) }
    var lines: [String] = []
    for spec in specs { lines.append(try await waitHealthy(clientURL: spec.clientURL, name: spec.name)) }
    return lines.joined(separator: "; ")
  }

  func replayChangeLog(_ plan: inout RepairPlan) async throws -> String {
    guard let backup else { throw RuntimeError("\(plan.cluster) has no backups") }
    var inputs = restoreState.inputs
    if inputs == nil, let revision = plan.context["restore.revision"].flatMap(Int64.init) {
      // Resumed after a restart: fetch the same point again.
      let directory = (snapshotDir as NSString).appendingPathComponent("restore-\(plan.cluster)-\(plan.id)")
      inputs = try await BackupRestore.prepare(
        store: backup.store, cluster: plan.cluster, target: .revision(revision), directory: directory,
        extra: await backup.writer.openRecords())
    }
    guard let inputs else { throw RuntimeError("the restore's inputs were not recorded") }
    let outcome = try await BackupRestore.finish(
      client: client, inputs: inputs, margin: Int64(restoreSettings.revisionMargin), leaseTTL: restoreSettings.leaseTTL)
    try? FileManager.default.removeItem(atPath: (inputs.file as NSString).deletingLastPathComponent)
    let lostRevisions = max(0, inputs.watermark - outcome.restoredRevision)
    let faultAt = plan.context["since"].flatMap(Double.init) ?? plan.createdAt
    let lostSeconds = max(0, faultAt - outcome.dataTime)
    plan.context["restore.finalRevision"] = String(outcome.finalRevision)
    plan.context["restore.lostRevisions"] = String(lostRevisions)
    plan.context["restore.lostSeconds"] = String(format: "%.3f", lostSeconds)
    return "replayed \(outcome.replayedRecords) change-log records to revision \(outcome.restoredRevision); highest revision seen before was \(inputs.watermark): RPO \(lostRevisions) revision(s), \(String(format: "%.2f", lostSeconds)) s of writes before the fault; revision raised to \(outcome.finalRevision) and compacted there (watches from before fail as compacted)"
  }
}

/// A restore's inputs kept between its steps (they are fetched again if Vigil restarted in between).
final class RestoreState: @unchecked Sendable {
  private let lock = NSLock()
  private var _inputs: RestoreInputs?
  var inputs: RestoreInputs? {
    get { lock.withLock { _inputs } }
    set { lock.withLock { _inputs = newValue } }
  }
}

/// What a restore needs beyond the store.
public struct RestoreSettings: Sendable {
  public var leaseTTL: Int64 = 60
  public var revisionMargin = 1000
  public init() {}
}
