import ArgumentParser
import Foundation
import VigilBench

extension BenchCommand {
  /// `vigil bench detect`: time to detect a killed and a frozen member at P0 beside the floor the tier sets
  /// (its probe interval); the engine's own CPU per 1,000 probes at 1, 100 and 1,000 targets; a healthy soak
  /// that must see no "failed" state. Measured by ``DetectBench``; rendered here.
  struct Detect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "detect",
      abstract: "Time to detect killed/frozen members (P0), the probe engine's CPU per 1,000 probes, a healthy soak.",
      discussion: "Starts its own local 3-member cluster. Detection time: fault injected → member confirmed failed."
    )

    static let kinds = ["etcd.kv", "etcd.member", "tcp"]

    @Option(help: "Trials per fault.")
    var trials: Int = 20

    @Option(help: "Comma-separated target counts for the CPU cost.")
    var targets: String = "1,100,1000"

    @Option(help: "Comma-separated probe kinds for the CPU cost (etcd.kv, etcd.member, tcp).")
    var probes: String = kinds.joined(separator: ",")

    @Option(help: "Seconds to measure each cost cell.")
    var costSeconds: Double = 10

    @Option(help: "Seconds of healthy running that must see no failed state (0 skips it).")
    var soak: Double = 600

    func validate() throws {
      guard (1...1000).contains(trials) else { throw ValidationError("--trials \(trials) is out of range (1 to 1000)") }
      for t in targets.split(separator: ",") {
        guard let n = Int(t), (1...10_000).contains(n) else {
          throw ValidationError("--targets \"\(t)\" is not a number from 1 to 10000")
        }
      }
      for p in probes.split(separator: ",") where !Self.kinds.contains(String(p)) {
        throw ValidationError("--probes \"\(p)\" is not one of \(Self.kinds.joined(separator: ", "))")
      }
      guard costSeconds > 0, soak >= 0 else { throw ValidationError("--cost-seconds must be > 0 and --soak ≥ 0") }
    }

    func run() async throws {
      let bench = try await DetectBench.start()
      do { try await measure(bench) } catch {
        await bench.shutdown()
        throw CLIError("\(error)")
      }
      await bench.shutdown()
    }

    func measure(_ bench: DetectBench) async throws {
      let floor = DetectBench.floor
      print("vigil bench detect: local 3-member cluster, tier P0 (probe every \(Int(floor * 1000)) ms, timeout 500 ms)")

      var rows = Table(["FAULT", "TRIALS", "MEDIAN", "P90", "MAX", "FLOOR", "MEDIAN/FLOOR", "GOAL"])
      for fault in DetectBench.Fault.allCases {
        let times = try await bench.detectionTimes(fault, trials: trials)
        let (median, p90, worst) = BenchTiming.spread(times)
        rows.add([
          fault.rawValue, "\(times.count)", BenchTiming.seconds(median), BenchTiming.seconds(p90),
          BenchTiming.seconds(worst), BenchTiming.seconds(floor), String(format: "%.1f", median / floor),
          fault == .killed ? "≤ 1 s" : "≤ 3 s",
        ])
      }
      print("\nTime to detect (fault injected → member confirmed failed):")
      print(rows.render())

      // The floor: the same client work without the engine, measured now at the same pace.
      var floors: [DetectBench.FloorOperation: Double] = [:]
      for op in DetectBench.FloorOperation.allCases {
        floors[op] = try await bench.floor(op, seconds: costSeconds).cpuPer1000
      }
      var cost = Table([
        "PROBE", "TARGETS", "PROBES", "PROBES/S", "VIGIL CPU-S", "CPU-S PER 1000", "PROBES PER CPU-S", "CLIENT FLOOR",
        "PER 1000/FLOOR", "GOAL",
      ])
      for kind in probes.split(separator: ",").map(String.init) {
        // A probe's own client work: etcd.kv makes 4 etcd calls (put, get, compare-and-swap, delete; its lease
        // is kept), etcd.member 2 (status, alarms), tcp one connect.
        let floor = kind == "tcp" ? floors[.tcpConnect]! : floors[.etcdCall]! * (kind == "etcd.kv" ? 4 : 2)
        for count in targets.split(separator: ",").compactMap({ Int($0) }) {
          let c = try await bench.cost(kind: kind, targets: count, seconds: costSeconds)
          cost.add([
            kind, "\(c.targets)", "\(c.runs)", String(format: "%.0f", c.probesPerSecond),
            String(format: "%.2f", c.cpuSeconds), String(format: "%.3f", c.cpuPer1000),
            c.cpuPer1000 > 0 ? String(format: "%.0f", 1000 / c.cpuPer1000) : "-", String(format: "%.3f", floor),
            floor > 0 ? String(format: "%.1f", c.cpuPer1000 / floor) : "-", "≤ 0.2",
          ])
        }
      }
      print("\nProbe engine cost (Vigil's process CPU, user+system, per 1,000 probes; etcd excluded):")
      print(cost.render())
      print(
        "CLIENT FLOOR: the probe's client work alone, at the same pace — one etcd call \(String(format: "%.3f", floors[.etcdCall]!)) CPU-s per 1,000 (etcd.kv makes 4, etcd.member 2), one TCP connect \(String(format: "%.3f", floors[.tcpConnect]!))"
      )

      if soak > 0 {
        let (failed, runs) = try await bench.soak(seconds: soak)
        print(
          "\nHealthy soak at P0 (\(Int(soak)) s, etcd.kv + etcd.watch + etcd.member, \(runs) probe runs): \(failed) false \"failed\" state(s) (goal: 0)"
        )
      }
    }
  }
}
