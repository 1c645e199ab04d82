import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilEngineTesting
import VigilEtcd
import VigilRuntime
import VigilMonitor
import VigilRepair
import VigilStore
import VigilTestKit

/// A monitor and a repair coordinator guarding real local clusters (one per
/// entry of `clusters`), with fast probes (100 ms) and the local runtime driver.
func withRepair(
  _ clusters: [(name: String, cluster: LocalCluster)], repair: String = "", inspections: String = "", extra: String = "",
  perCluster: [String: String] = [:], _ body: (Monitor, RepairCoordinator, String) async throws -> Void
) async throws {
  let yaml = """
    \(extra)
    tiers:
      test: {probeInterval: 100ms, probeTimeout: 1s}
    inspections:
      interval: 1s
    \(inspections)
    scheduler: {membershipInterval: 500ms}
    repair:
      memberTimeout: 30s
    \(repair)
    probeSuites:
      - name: s
        probes:
          - kind: etcd.kv
          - kind: etcd.member
    """
  try await withEngine(clusters, yaml: yaml, cluster: "tier: test\n    probeSuites: [s]", perCluster: perCluster) {
    engine, dir in
    try await body(engine.monitor, engine.repairs, dir)
  }
}

/// Waits for a plan of `runbook` on `cluster` to succeed (a first attempt may fail and be retried);
/// without one, the newest finished plan of that runbook, to show why.
func finishedPlan(_ store: HistoryStore, _ runbook: Runbook, cluster: String = "c", timeout: Duration = .seconds(60))
  async throws -> RepairPlan?
{
  var found: RepairPlan?
  _ = try await eventually(timeout: timeout) {
    found = try await store.plans(cluster: cluster).first { $0.runbook == runbook && $0.state == .succeeded }
    return found != nil
  }
  if let found { return found }
  return try await store.plans(cluster: cluster).first { $0.runbook == runbook && $0.state.isFinished }
}

/// Every voter answers with a leader, as the cluster lists them.
func allVotersHealthy(_ client: EtcdClient, voters: Int) async throws -> Bool {
  let list = try await client.cluster.list()
  guard list.filter({ !$0.isLearner }).count == voters, !list.contains(where: \.isLearner) else { return false }
  for m in list {
    guard let url = m.clientURLs.first else { return false }
    let pinned = client.member(try EtcdEndpoint(parsing: url))
    let status = try? await pinned.withCallTimeout(.seconds(1)).maintenance.status()
    await pinned.shutdown()
    guard let status, status.leader != 0 else { return false }
  }
  return true
}

/// The plan's audit entries must show it was planned, each step, and how it finished; the chain must be intact.
func expectAudited(_ store: HistoryStore, _ plan: RepairPlan, actor: String = "vigil") async throws {
  let entries = try await store.audit(planID: plan.id, limit: 1000, ascending: true)
  let actions = entries.map(\.action)
  #expect(actions.first == "plan")
  #expect(actions.last == "finished")
  #expect(entries.filter { $0.action == "step" }.count == plan.steps.count)
  #expect(entries.allSatisfy { $0.actor == actor || $0.action == "plan" })
  #expect(try await store.verifyAudit().ok)
}
