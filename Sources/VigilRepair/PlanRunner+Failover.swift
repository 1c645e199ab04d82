import Foundation
import VigilBackup
import VigilCore
import VigilEtcd
import VigilRuntime

/// What a promote-standby plan acts on beyond its runner's cluster (the side being fenced, with its runtime)
/// and client (the side taking over).
public struct FailoverSides: Sendable {
  /// The pair's name (the configured primary's).
  public var pair: String
  public var from: String
  public var to: String
  public var mirror: StandbyMirror
  /// How long the drain waits for the mirror to apply what it already received.
  public var drainTimeout: Duration = .seconds(5)
  /// Records the new active side and publishes its endpoints.
  public var switchActive: @Sendable (_ plan: RepairPlan) async throws -> Void

  public init(
    pair: String, from: String, to: String, mirror: StandbyMirror,
    switchActive: @escaping @Sendable (_ plan: RepairPlan) async throws -> Void
  ) {
    self.pair = pair
    self.from = from
    self.to = to
    self.mirror = mirror
    self.switchActive = switchActive
  }
}

/// The steps of promote-standby: the runner's `runtime` is the old active side's, its `client` the new one's.
extension PlanRunner {
  func requireFailover() throws -> FailoverSides {
    guard let failover else { throw RuntimeError("this plan has no standby to promote") }
    return failover
  }

  /// Stops every member of the side that was active and checks that none answers any more. Without a
  /// runtime driver Vigil cannot stop them: the step passes only once a person has (none answers).
  func fenceSide(_ plan: RepairPlan) async throws -> String {
    let sides = try requireFailover()
    guard runtime != nil else {
      let names = planMembers(plan)
      if let unknown = names.first(where: { plan.context["client.\($0)"] == nil }) {
        throw RuntimeError("\(sides.from) has no runtime driver and Vigil does not know where \(unknown) listens: cannot tell it is stopped")
      }
      let listed = names.map { MemberSpec(name: $0, clientURL: plan.context["client.\($0)"] ?? "", peerURL: "", dataDir: "") }
      let alive = await answering(listed)
      guard alive.isEmpty else {
        throw RuntimeError(
          "\(sides.from) has no runtime driver (runtime: external) and \(alive.joined(separator: ", ")) still answer: Vigil cannot fence it; stop its members by hand (no client may write there), then run the failover again"
        )
      }
      return "\(sides.from) has no runtime driver; none of its members answers (stopped by hand): fenced"
    }
    let specs = try await allSpecs(plan)
    let runtime = try requireRuntime()
    var failures: [String] = []
    for spec in specs {
      do { try await runtime.kill(spec) } catch { failures.append("\(spec.name): \(error)") }
    }
    let alive = await answering(specs)
    guard alive.isEmpty else {
      throw RuntimeError(
        "\(alive.joined(separator: ", ")) of \(sides.from) still answer\(failures.isEmpty ? "" : " (\(failures.joined(separator: "; ")))"): not fenced, no switch"
      )
    }
    let unreachable = failures.isEmpty ? "" : "; the driver could not reach \(failures.joined(separator: "; ")), none answers"
    return "\(specs.map(\.name).joined(separator: ", ")) of \(sides.from) stopped\(unreachable)"
  }

  /// Lets the mirror apply what it received, stops it, and records what the standby never got.
  func drainStandby(_ plan: inout RepairPlan) async throws -> String {
    let sides = try requireFailover()
    let lag = await sides.mirror.status.lagSeconds
    let (applied, known) = await sides.mirror.drain(timeout: sides.drainTimeout)
    guard applied > 0 else {
      throw RuntimeError("the standby \(sides.to) was never seeded: promoting it would serve nothing of \(sides.from)")
    }
    let lost = max(0, known - applied)
    plan.context["failover.appliedRevision"] = String(applied)
    plan.context["failover.lostRevisions"] = String(lost)
    plan.context["failover.lagSeconds"] = String(format: "%.3f", lag)
    return "\(sides.to) holds \(sides.from) up to revision \(applied) of \(known) known: RPO \(lost) revision(s), lag \(String(format: "%.2f", lag)) s before the fence"
  }

  /// Removes the mirror's position and compacts the new side at its revision: a watch or cache from before
  /// the switch fails as compacted and relists instead of missing changes.
  func compactNewSide() async throws -> String {
    let sides = try requireFailover()
    let revision = try await client.kv.delete(MirrorPosition.key).revision
    var already = false
    do { try await client.kv.compact(revision: revision) } catch {
      guard error.code == .compacted else { throw error }
      already = true
    }
    return "\(sides.to) \(already ? "was already compacted" : "compacted") at revision \(revision)"
  }

  func switchActive(_ plan: RepairPlan) async throws -> String {
    let sides = try requireFailover()
    try await sides.switchActive(plan)
    await sides.mirror.switchOver()
    return "\(sides.to) serves \(sides.pair); \(sides.from) is fenced and comes back as its standby (rebuilt by the mirror)"
  }

  /// Starts every member of the old side again, all together (one alone cannot elect a leader), without
  /// waiting: the mirror, turned around, replaces their content with the new side's as soon as they answer.
  /// Members that cannot be started now are named; they come back when their site does.
  func startOldSide(_ plan: RepairPlan) async throws -> String {
    let sides = try requireFailover()
    guard let runtime else {
      return "\(sides.from) has no runtime driver: start its members by hand; the mirror rebuilds it as the standby of \(sides.to)"
    }
    let specs = try await allSpecs(plan)
    var started: [String] = []
    var failed: [String] = []
    for spec in specs {
      if !spec.dataDir.isEmpty, !EtcdDataDir.hasData(spec.dataDir) {
        failed.append("\(spec.name): its data dir is empty (it must be replaced, not restarted)")
        continue
      }
      do {
        try await runtime.start(spec, initialCluster: nil)
        started.append(spec.name)
      } catch {
        failed.append("\(spec.name): \(error)")
      }
    }
    let rest = failed.isEmpty ? "" : "; not started now (they come back with their site): \(failed.joined(separator: "; "))"
    return "\(started.isEmpty ? "none" : started.joined(separator: ", ")) of \(sides.from) started, to be rebuilt as the standby of \(sides.to)\(rest)"
  }
}
