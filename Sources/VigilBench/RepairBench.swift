import Foundation
import Logging
import VigilConfig
import VigilCore
import VigilEngine
import VigilEtcd
import VigilMonitor
import VigilRepair
import VigilRuntime
import VigilStore

/// What `vigil bench repair` measures, on a local 3-member cluster it starts and loads with data: the MTTR
/// (fault injected → cluster verified healthy with every voter) of a killed, a frozen and a wiped member under
/// Vigil, beside the floors measured in the same run — a bare member's start-to-healthy time, and the time
/// etcd itself takes to add a learner, send it the snapshot and promote it. The command renders; this measures.
public struct RepairBench: LocalClusterBench {
  public enum Fault: String, Sendable, CaseIterable {
    case killed, frozen, wiped

    /// The runbook expected to repair it.
    var runbook: Runbook {
      switch self {
      case .killed: .restartMember
      case .frozen: .unstickMember
      case .wiped: .replaceMember
      }
    }
  }

  /// The MTTR of one fault over its trials, and runbooks other than the expected one that repaired it.
  public struct MTTR: Sendable {
    public var fault: Fault
    public var times: [Double]
    public var otherRunbooks: Set<String>
  }

  public let cluster: LocalCluster
  public let client: EtcdClient
  let logger: Logger

  public init(cluster: LocalCluster, client: EtcdClient, logger: Logger) {
    self.cluster = cluster
    self.client = client
    self.logger = logger
  }

  /// MTTR of each fault under a guard at P0 in auto mode, `trials` times each (a follower, taking turns).
  public func mttr(trials: Int) async throws -> [MTTR] {
    var out: [MTTR] = []
    try await withGuard { monitor in
      for fault in Fault.allCases {
        var result = MTTR(fault: fault, times: [], otherRunbooks: [])
        for trial in 0..<trials {
          guard try await BenchTiming.wait(timeout: .seconds(60), { await Self.settled(monitor, client: client) }) else {
            throw BenchError("the cluster did not settle healthy before \(fault.rawValue) trial \(trial + 1)")
          }
          let victim = try await Self.follower(client, trial: trial)
          let before = try await monitor.store.plans(cluster: "bench", limit: 1).first?.id ?? 0
          let injected = Date().timeIntervalSince1970
          switch fault {
          case .killed: try await cluster.kill(victim)
          case .frozen: try await cluster.freeze(victim)
          case .wiped:
            try await cluster.kill(victim)
            try await cluster.wipe(victim)
          }
          // The repair is done when a plan made after the fault succeeded (a first plan may fail: a member
          // killed and then wiped is seen crashed first, and restarting it is refused once its dir is empty).
          var plan: RepairPlan?
          guard
            try await BenchTiming.wait(timeout: .seconds(120), {
              let made = (try? await monitor.store.plans(cluster: "bench", limit: 10).filter { $0.id > before }) ?? []
              plan = made.first { $0.state == .succeeded }
              return plan != nil
            })
          else { throw BenchError("\(fault.rawValue) \(victim) was not repaired within 120 s (trial \(trial + 1))") }
          guard let plan, let done = plan.finishedAt else { continue }
          if plan.runbook != fault.runbook { result.otherRunbooks.insert(plan.runbook.rawValue) }
          result.times.append(done - injected)
        }
        out.append(result)
      }
    }
    return out
  }

  /// A monitor and a repair coordinator guarding the cluster at P0.
  func withGuard(_ body: (Monitor) async throws -> Void) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let settings = """
      stateDir: \(dir)
      inspections: {interval: 1h}
      scheduler: {membershipInterval: 500ms}
      repair: {maxRepairsPerWindow: 10000, memberTimeout: 60s}
      """
    try await withEngine(settings, logger: logger) { engine in try await body(engine.monitor) }
  }

  /// Every member healthy for the monitor, no open incident, every voter answering.
  static func settled(_ monitor: Monitor, client: EtcdClient) async -> Bool {
    guard await monitor.openIncidents.isEmpty, let view = await monitor.repairView(cluster: "bench") else { return false }
    guard view.members.count == 3, view.members.allSatisfy({ $0.health == .healthy && !$0.isLearner }) else { return false }
    return await monitor.health(of: "bench") == .healthy
  }

  /// A follower, taking turns.
  static func follower(_ client: EtcdClient, trial: Int) async throws -> String {
    let leader = try await client.maintenance.status().leader
    let followers = try await client.cluster.list().filter { $0.id != leader && !$0.isLearner }.map(\.name).sorted()
    guard !followers.isEmpty else { throw BenchError("no follower to fault") }
    return followers[trial % followers.count]
  }

  /// Median time for a stopped member to start on its data dir and answer with a leader.
  public func startFloor(trials: Int) async throws -> Double {
    var times: [Double] = []
    let name = await cluster.members.last!.name
    for _ in 0..<trials {
      try await cluster.stop(name)
      let t0 = ContinuousClock.now
      try await cluster.start(name)  // waits until it answers with a leader
      times.append((ContinuousClock.now - t0).seconds)
    }
    return BenchTiming.spread(times).median
  }

  /// Median time for etcd to add a learner, catch it up from the snapshot and accept its promotion.
  public func learnerFloor(trials: Int) async throws -> Double {
    var times: [Double] = []
    for i in 0..<trials {
      let m = try await cluster.prepareMember(name: "floor\(i)")
      // etcd takes a membership change only once its members have been connected for a while: wait for that
      // first, then time the change itself (add → snapshot sent → caught up → promoted).
      var added: (member: EtcdMember, members: [EtcdMember])?
      while added == nil {
        do { added = try await client.cluster.add(peerURLs: [m.peerURL], learner: true) } catch {
          guard error.message.contains("unhealthy cluster") else { throw error }
          try await Task.sleep(for: .milliseconds(100))
        }
      }
      let t0 = ContinuousClock.now
      guard let added else { continue }
      let initial = added.members.map { x in (name: x.id == added.member.id ? m.name : x.name, peerURL: x.peerURLs[0]) }
      try await cluster.startJoining(m.name, initialCluster: initial, waitHealthy: false)
      var promoted = false
      while !promoted {
        if (ContinuousClock.now - t0) > .seconds(120) { throw BenchError("the floor learner did not catch up in 120 s") }
        do {
          _ = try await client.cluster.promote(id: added.member.id)
          promoted = true
        } catch { try await Task.sleep(for: .milliseconds(5)) }
      }
      times.append((ContinuousClock.now - t0).seconds)
      _ = try await client.cluster.remove(id: added.member.id)
      try await cluster.forget(m.name)
      try await Task.sleep(for: .seconds(1))
    }
    return BenchTiming.spread(times).median
  }
}
