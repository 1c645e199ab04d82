import ArgumentParser
import Foundation
import VigilBench
import VigilEtcd
import VigilRuntime

/// `vigil bench …`: benchmarks that print numbers beside a floor measured in the same run.
struct BenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Benchmarks (numbers with a floor or peer measured in the same run).",
    subcommands: [KV.self, Detect.self, Repair.self, Restore.self, Failover.self, Takeover.self, Fleet.self]
  )

  struct KV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "kv",
      abstract: "Puts/s and gets/s with p50/p99, Vigil's client beside etcd's Go client (clientv3).",
      discussion: """
        Without --endpoints a local 3-member cluster is started. Both clients send the same
        closed-loop load to the same member (the leader), one after the other.
        """
    )

    @Option(help: "Comma-separated client URLs of an existing cluster (default: start a local 3-member one).")
    var endpoints: String?

    @Option(help: "Seconds to measure each cell.")
    var duration: Double = 5

    @Option(help: "Comma-separated caller counts.")
    var callers: String = "1,16,64"

    @Option(help: "Comma-separated workloads: put, get-serializable, get-linearizable.")
    var workloads: String = KVBenchmark.workloads.joined(separator: ",")

    @Option(help: "Value size in bytes.")
    var valueSize: Int = 100

    @Option(help: "Rounds per cell, Swift and Go alternating; the median round is reported.")
    var rounds: Int = 3

    @Flag(help: "Skip the Go peer.")
    var noGo = false

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    func validate() throws {
      guard duration > 0, duration <= 600 else {
        throw ValidationError("--duration \(duration) is out of range (expected 0 to 600 seconds)")
      }
      for c in callers.split(separator: ",") {
        guard let n = Int(c), (1...1024).contains(n) else {
          throw ValidationError("--callers \"\(c)\" is not a number from 1 to 1024")
        }
      }
      for w in workloads.split(separator: ",") where !KVBenchmark.workloads.contains(String(w)) {
        throw ValidationError("--workloads \"\(w)\" is unknown (expected \(KVBenchmark.workloads.joined(separator: ", ")))")
      }
      guard (1...20).contains(rounds) else {
        throw ValidationError("--rounds \(rounds) is out of range (expected 1 to 20)")
      }
      guard (1...(1 << 20)).contains(valueSize) else {
        throw ValidationError("--value-size \(valueSize) is out of range (expected 1 to 1048576)")
      }
    }

    func run() async throws {
      let goBinary: String?
      do { goBinary = noGo ? nil : try await KVBenchmark.buildGoPeer() } catch { throw CLIError("\(error)") }
      var cluster: LocalCluster?
      let list: [EtcdEndpoint]
      if let endpoints {
        do { list = try EtcdEndpoint.parseList(endpoints) } catch { throw CLIError("--endpoints: \(error.message)") }
      } else {
        print("starting a local 3-member cluster…")
        let started = try await LocalCluster.start(LocalClusterOptions(members: 3))
        cluster = started
        list = await started.endpoints
      }
      do {
        try await measure(list, goBinary: goBinary)
      } catch {
        await cluster?.shutdown()
        throw error
      }
      await cluster?.shutdown()
    }

    private func measure(_ list: [EtcdEndpoint], goBinary: String?) async throws {
      let leader = try await KVBenchmark.leader(of: list)
      let client = try EtcdClient(configuration: EtcdClientConfiguration(endpoints: [leader]))
      try await KVBenchmark.seed(client: client, valueSize: valueSize)
      print(
        "target: \(leader) (leader), value \(valueSize) B, \(duration) s per round, \(rounds) rounds per cell (median), build: \(buildKind)"
      )

      var table = Table([
        "WORKLOAD", "CALLERS", "SWIFT OPS/S", "GO OPS/S", "SWIFT/GO", "SWIFT P50", "GO P50", "SWIFT P99", "GO P99",
        "ERRORS",
      ])
      var results: [[String: KVBenchResult]] = []
      for workload in workloads.split(separator: ",").map(String.init) {
        for count in callers.split(separator: ",").compactMap({ Int($0) }) {
          let (swift, go) = try await KVBenchmark.cell(
            client: client, leader: leader, goBinary: goBinary, workload: workload, callers: count, rounds: rounds,
            duration: duration, valueSize: valueSize)
          var cell = ["swift": swift]
          if let go { cell["go"] = go }
          results.append(cell)
          let ratio = go.map { $0.opsPerSecond > 0 ? String(format: "%.2f", swift.opsPerSecond / $0.opsPerSecond) : "-" }
          table.add([
            workload, String(count), String(format: "%.0f", swift.opsPerSecond),
            go.map { String(format: "%.0f", $0.opsPerSecond) } ?? "-", ratio ?? "-",
            String(format: "%.2f ms", swift.p50Ms), go.map { String(format: "%.2f ms", $0.p50Ms) } ?? "-",
            String(format: "%.2f ms", swift.p99Ms), go.map { String(format: "%.2f ms", $0.p99Ms) } ?? "-",
            "\(swift.errors)/\(go?.errors ?? 0)",
          ])
          print(
            "  \(workload) × \(count): swift \(Int(swift.opsPerSecond))/s"
              + (go.map { ", go \(Int($0.opsPerSecond))/s" } ?? ""))
          fflush(nil)
        }
      }
      let stats = client.connectionStatistics[0].counters
      await client.shutdown()
      print("")
      print(table.render())
      print("Swift client connections: \(stats.established) opened, \(stats.dropped) dropped")
      if let json {
        let data = try JSONEncoder().encode(results)
        try data.write(to: URL(fileURLWithPath: json))
      }
    }

    private var buildKind: String {
      #if DEBUG
        "debug (use swift build -c release for real numbers)"
      #else
        "release"
      #endif
    }
  }
}
