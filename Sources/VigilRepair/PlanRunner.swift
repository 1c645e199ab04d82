import Foundation
import Logging
import NIOCore
import VigilBackup
import VigilConfig
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilStore

/// Runs one plan step by step. Before each step the safety guard checks the
/// live cluster; the journal (the plan row) is written before and after every
/// step, and every step's outcome goes to the audit log. Each step first
/// looks at the cluster's real state and does only what is still missing, so
/// a plan resumed after a crash re-runs its interrupted step safely.
public struct PlanRunner: Sendable {
  public var cluster: ClusterConfig
  public var client: EtcdClient
  public var runtime: (any MemberRuntime)?
  public var store: HistoryStore
  public var settings: RepairConfig
  public var snapshotDir: String
  public var logger: Logger
  /// Incident timeline hook: a line of text, and whether the cluster is verified healthy.
  public var note: @Sendable (_ plan: RepairPlan, _ text: String, _ recovered: Bool) async -> Void
  /// The cluster's backups (snapshots before membership changes, restores); nil when backups are off.
  public var backup: ClusterBackup?
  public var restoreSettings = RestoreSettings()
  /// A promote-standby plan's two sides and the mirror between them.
  public var failover: FailoverSides?
  /// With several replicas: passes before each step only while this replica still owns the cluster (and
  /// records the step for the fleet); when it throws, the plan stops where it is, `running` in the journal,
  /// for the owner to resume.
  public var fence: (@Sendable (_ plan: RepairPlan, _ step: Int) async throws -> Void)?
  /// With several replicas: this replica's id, named first in the inputs of every audit entry it writes
  /// (`replica=ID; …`), so the log says where each step ran.
  public var replica: String?

  public init(
    cluster: ClusterConfig, client: EtcdClient, runtime: (any MemberRuntime)?, store: HistoryStore,
    settings: RepairConfig, snapshotDir: String, logger: Logger,
    note: @escaping @Sendable (_ plan: RepairPlan, _ text: String, _ recovered: Bool) async -> Void
  ) {
    self.cluster = cluster
    self.client = client
    self.runtime = runtime
    self.store = store
    self.settings = settings
    self.snapshotDir = snapshotDir
    self.logger = logger
    self.note = note
  }

  static func now() -> Double { Date().timeIntervalSince1970 }

  /// Runs `plan` from its first unfinished step to the end (or to a failure or refusal).
  /// - Parameter actor: who runs it (`vigil`, or the operator who approved it).
  public func run(_ start: RepairPlan, actor: String) async -> RepairPlan {
    var plan = start
    plan.state = .running
    plan.updatedAt = Self.now()
    if plan.context["voters"] == nil, plan.runbook != .restoreCluster {
      if let reading = try? await LiveClusterReader.read(client) {
        plan.context["voters"] = String(reading.cluster.voters.count)
        if let id = reading.statuses.values.first?.clusterID { plan.context["clusterID"] = String(id, radix: 16) }
        if let m = plan.member, let listed = reading.listed.first(where: { $0.name == m }) {
          plan.context["member.id"] = String(listed.id, radix: 16)
          if let spec = await runtime?.spec(of: m, listed: listed) { remember(spec, as: "member", in: &plan) }
        }
      }
      if let m = plan.member, plan.context["member.peerURL"] == nil, let spec = await runtime?.spec(of: m, listed: nil) {
        remember(spec, as: "member", in: &plan)
      }
    }
    await journal(plan)
    while let index = plan.nextStepIndex {
      if Task.isCancelled { return plan }  // shutting down: the journal says where to resume
      var step = plan.steps[index]
      if step.action.hasSafetyGuard {
        let reading: LiveClusterReader.Reading
        do { reading = try await LiveClusterReader.read(client) } catch {
          return await finish(&plan, step: index, as: .failed, "cannot read the cluster before \(step.label): \(error)", actor: actor)
        }
        var context = GuardContext(
          now: Self.now(), snapshotAt: plan.context["snapshotAt"].flatMap(Double.init), ownLearner: plan.context["newName"])
        context.maxSnapshotAge = settings.snapshotMaxAge.duration
        if let refusal = SafetyGuard.check(step, in: reading.cluster, context) {
          await audit(plan, action: "refused", step: step, result: "refused", reason: refusal, actor: actor)
          return await finish(&plan, step: index, as: .failed, "refused by a safety guard before \(step.label): \(refusal)", actor: actor)
        }
      }
      if let fence {
        do { try await fence(plan, index) } catch {
          logger.warning(
            "repair stopped: this replica no longer owns the cluster",
            metadata: ["cluster": "\(plan.cluster)", "plan.id": "\(plan.id)", "step": "\(step.label)", "why": "\(error)"])
          await audit(plan, action: "fenced", step: step, result: "stopped", reason: "\(error)", actor: actor)
          return plan
        }
      }
      step.state = .running
      step.startedAt = Self.now()
      step.detail = nil
      plan.steps[index] = step
      plan.updatedAt = step.startedAt!
      await journal(plan)  // before: a crash from here on re-runs this step, which checks the real state first
      let began = ContinuousClock.now
      do {
        let detail = try await perform(step, &plan)
        step.state = .done
        step.detail = detail
      } catch {
        // Vigil is shutting down: the journal keeps the step as running, and the next start re-runs it.
        if Task.isCancelled { return plan }
        step.state = .failed
        step.detail = "\(error)"
      }
      step.finishedAt = Self.now()
      plan.steps[index] = step
      plan.updatedAt = step.finishedAt!
      await journal(plan)  // after
      let took = String(format: "%.2f s", (ContinuousClock.now - began).seconds)
      await audit(
        plan, action: "step", step: step, result: step.state == .done ? "ok" : "failed: \(step.detail ?? "")",
        reason: step.detail ?? "", actor: actor, inputs: "took \(took)")
      if step.state == .failed {
        return await finish(&plan, step: index, as: .failed, "\(step.label) failed: \(step.detail ?? "")", actor: actor)
      }
      await note(plan, "\(plan.runbook.rawValue) #\(plan.id): \(step.label) done (\(took)) \(step.detail ?? "")", false)
    }
    return await finish(&plan, step: nil, as: .succeeded, "verified: every voter healthy with one leader, writes accepted", actor: actor)
  }

  func finish(
    _ plan: inout RepairPlan, step: Int?, as state: PlanState, _ outcome: String, actor: String
  ) async -> RepairPlan {
    if let step {
      var s = plan.steps[step]
      s.state = .failed
      if s.detail == nil { s.detail = outcome }
      if s.finishedAt == nil { s.finishedAt = Self.now() }
      plan.steps[step] = s
    }
    plan.state = state
    plan.outcome = outcome
    plan.finishedAt = Self.now()
    plan.updatedAt = plan.finishedAt!
    await journal(plan)
    await audit(plan, action: "finished", step: nil, result: state.rawValue, reason: outcome, actor: actor)
    await note(plan, "\(plan.runbook.rawValue) #\(plan.id) \(state.rawValue): \(outcome)", state == .succeeded)
    let done = plan  // log autoclosures must not capture the inout plan
    logger.log(
      level: state == .succeeded ? .info : .warning, "repair \(state.rawValue)",
      metadata: [
        "cluster": "\(done.cluster)", "plan.id": "\(done.id)", "runbook": "\(done.runbook.rawValue)",
        "member.name": "\(done.member ?? "-")", "outcome": "\(outcome)",
      ])
    return done
  }

  func journal(_ plan: RepairPlan) async {
    do { try await store.update(plan: plan) } catch {
      logger.error("cannot write the repair journal", metadata: ["plan.id": "\(plan.id)", "error": "\(error)"])
    }
  }

  func audit(
    _ plan: RepairPlan, action: String, step: PlanStep?, result: String, reason: String, actor: String, inputs: String = ""
  ) async {
    let written = replica.map { "replica=\($0)" + (inputs.isEmpty ? "" : "; " + inputs) } ?? inputs
    let entry = AuditEntry(
      at: Self.now(), actor: actor, action: action, cluster: plan.cluster,
      subject: Subject(cluster: plan.cluster, member: plan.member).key, incidentID: plan.incidentID, planID: plan.id,
      runbook: plan.runbook.rawValue, step: step?.label, inputs: written, result: result, reason: reason)
    do { try await store.append(audit: entry) } catch {
      logger.error("cannot append to the audit log", metadata: ["plan.id": "\(plan.id)", "error": "\(error)"])
    }
  }

  func remember(_ spec: MemberSpec, as prefix: String, in plan: inout RepairPlan) {
    plan.context["\(prefix).name"] = spec.name
    plan.context["\(prefix).clientURL"] = spec.clientURL
    plan.context["\(prefix).peerURL"] = spec.peerURL
    plan.context["\(prefix).dataDir"] = spec.dataDir
  }

  func spec(_ prefix: String, in plan: RepairPlan) -> MemberSpec? {
    guard let name = plan.context["\(prefix).name"], let peer = plan.context["\(prefix).peerURL"] else { return nil }
    return MemberSpec(
      name: name, clientURL: plan.context["\(prefix).clientURL"] ?? "", peerURL: peer,
      dataDir: plan.context["\(prefix).dataDir"] ?? "")
  }
}
