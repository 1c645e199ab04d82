import ArgumentParser
import Foundation
import Logging
import VigilConfig
import VigilCore
import VigilEngine
import VigilEtcd
import VigilRuntime
import VigilMonitor
import VigilRepair
import VigilStore

/// `vigil bench repair`: MTTR (fault injected → cluster verified healthy with
/// every voter) for a killed, a frozen and a wiped member of a local 3-member
/// cluster holding `--data-mb` of data, beside the floors measured in the same
/// run: a bare member's start-to-healthy time, and the time etcd itself takes
/// to add a learner, send it the snapshot and promote it.
struct RepairBenchmark: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "MTTR of killed, frozen and wiped members under Vigil (P0, auto), beside etcd's own floors.",
    discussion: "Starts its own local 3-member cluster and loads it with --data-mb of data first."
  )

  @Option(help: "Trials per fault (and per floor).") var trials: Int = 10
  @Option(help: "Megabytes of data in the cluster.") var dataMb: Int = 100

  func validate() throws {
    guard (1...1000).contains(trials) else { throw ValidationError("--trials \(trials) is out of range (1 to 1000)") }
    guard (0...1000).contains(dataMb) else { throw ValidationError("--data-mb \(dataMb) is out of range (0 to 1000)") }
  }

  func run() async throws {
    var logger = Logger(label: "vigil.bench")
    logger.logLevel = .warning
    var options = LocalClusterOptions(members: 3)
    options.quotaBackendBytes = 8 << 30
    let cluster = try await LocalCluster.start(options, logger: logger)
    let client = try EtcdClient(configuration: EtcdClientConfiguration(endpoints: await cluster.endpoints))
    do {
      try await measure(cluster, client: client, logger: logger)
    } catch {
      await client.shutdown()
      await cluster.shutdown()
      throw error
    }
    await client.shutdown()
    await cluster.shutdown()
  }

  func measure(_ cluster: LocalCluster, client: EtcdClient, logger: Logger) async throws {
    print("vigil bench repair: local 3-member cluster, tier P0, repair mode auto, \(dataMb) MB of data, \(trials) trials each")
    let value = String(repeating: "v", count: 256 << 10)
    for i in 0..<(dataMb * 4) { try await client.withCallTimeout(.seconds(30)).kv.put("/bench/data/\(i)", value) }
    let db = try await client.maintenance.status().dbSize
    print("loaded: \(db >> 20) MB database")

    var table = Table(["FAULT", "TRIALS", "MEDIAN", "P90", "MAX", "FLOOR (MEDIAN)", "MEDIAN/FLOOR", "GOAL"])
    let startFloor = try await Self.startFloor(cluster, trials: trials)
    let learnerFloor = try await Self.learnerFloor(cluster, client: client, trials: trials)
    try await withGuard(cluster, logger: logger) { monitor, repairs in
      let expected: [String: Runbook] = ["killed": .restartMember, "frozen": .unstickMember, "wiped": .replaceMember]
      var runbooks: [String: Set<String>] = [:]
      for fault in ["killed", "frozen", "wiped"] {
        var times: [Double] = []
        for trial in 0..<trials {
          guard try await BenchTiming.wait(timeout: .seconds(60), { await Self.settled(monitor, client: client) }) else {
            throw CLIError("the cluster did not settle healthy before \(fault) trial \(trial + 1)")
          }
          let victim = try await Self.follower(client, trial: trial)
          let before = try monitor.store.plans(cluster: "bench", limit: 1).first?.id ?? 0
          let injected = Date().timeIntervalSince1970
          switch fault {
          case "killed": try await cluster.kill(victim)
          case "frozen": try await cluster.freeze(victim)
          default:
            try await cluster.kill(victim)
            try await cluster.wipe(victim)
          }
          // The repair is done when a plan made after the fault succeeded (a first plan may fail: a member
          // killed and then wiped is seen crashed first, and restarting it is refused once its dir is empty).
          var plan: RepairPlan?
          guard
            try await BenchTiming.wait(timeout: .seconds(120), {
              let made = (try? monitor.store.plans(cluster: "bench", limit: 10).filter { $0.id > before }) ?? []
              plan = made.first { $0.state == .succeeded }
              return plan != nil
            })
          else { throw CLIError("\(fault) \(victim) was not repaired within 120 s (trial \(trial + 1))") }
          guard let done = plan?.finishedAt else { continue }
          if plan?.runbook != expected[fault] { runbooks[fault, default: []].insert(plan!.runbook.rawValue) }
          times.append(done - injected)
        }
        let floor = fault == "wiped" ? learnerFloor : startFloor
        let (median, p90, worst) = BenchTiming.spread(times)
        table.add([
          fault, "\(times.count)", BenchTiming.seconds(median), BenchTiming.seconds(p90), BenchTiming.seconds(worst),
          BenchTiming.seconds(floor), String(format: "%.1f", median / floor),
          fault == "killed" ? "≤ 3 s" : fault == "wiped" ? "≤ 10 s" : "-",
        ])
      }
      _ = repairs
      for (fault, names) in runbooks { print("note: \(fault) was also repaired by \(names.sorted().joined(separator: ", "))") }
    }
    print("\nMTTR (fault injected → cluster verified healthy, every voter answering with one leader, writes accepted):")
    print(table.render())
    print(
      """

      Floors: killed/frozen — a bare member's start-to-healthy time (etcd started on its data dir until it answers
      with a leader); wiped — etcd adding a learner, sending it the \(db >> 20) MB snapshot and accepting its promotion.
      """)
  }

  /// A monitor and a repair coordinator guarding the cluster at P0.
  func withGuard(_ cluster: LocalCluster, logger: Logger, _ body: (Monitor, RepairCoordinator) async throws -> Void)
    async throws
  {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let yaml = """
      stateDir: \(dir)
      inspections: {interval: 1h}
      scheduler: {membershipInterval: 500ms}
      repair: {maxRepairsPerWindow: 10000, memberTimeout: 60s}
      probeSuites:
        - name: s
          probes:
            - kind: etcd.kv
            - kind: etcd.member
      clusters:
        - {name: bench, endpoints: [\(await cluster.endpoints.map(\.description).joined(separator: ", "))], tier: P0, probeSuites: [s]}
      """
    let config: VigilConfiguration
    do { config = try ConfigLoader.parse(yaml, file: "bench") } catch { throw CLIError("\(error)") }
    let engine = try await Engine.build(config, hookups: ["bench": ClusterHookup(local: cluster)], logger: logger)
    await engine.start()
    do { try await body(engine.monitor, engine.repairs) } catch {
      await engine.shutdown()
      throw error
    }
    await engine.shutdown()
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
    guard !followers.isEmpty else { throw CLIError("no follower to fault") }
    return followers[trial % followers.count]
  }

  /// Median time for a stopped member to start on its data dir and answer with a leader.
  static func startFloor(_ cluster: LocalCluster, trials: Int) async throws -> Double {
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
  static func learnerFloor(_ cluster: LocalCluster, client: EtcdClient, trials: Int) async throws -> Double {
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
        if (ContinuousClock.now - t0) > .seconds(120) { throw CLIError("the floor learner did not catch up in 120 s") }
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
