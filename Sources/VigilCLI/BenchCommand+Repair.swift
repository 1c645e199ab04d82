import ArgumentParser
import Foundation
import VigilBench

extension BenchCommand {
  /// `vigil bench repair`: MTTR of killed, frozen and wiped members under Vigil beside etcd's own floors,
  /// measured by ``RepairBench``; rendered here.
  struct Repair: AsyncParsableCommand {
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
      let bench = try await RepairBench.start()
      do { try await measure(bench) } catch {
        await bench.shutdown()
        throw CLIError("\(error)")
      }
      await bench.shutdown()
    }

    func measure(_ bench: RepairBench) async throws {
      print("vigil bench repair: local 3-member cluster, tier P0, repair mode auto, \(dataMb) MB of data, \(trials) trials each")
      let db = try await bench.load(megabytes: dataMb)
      print("loaded: \(db >> 20) MB database")
      let startFloor = try await bench.startFloor(trials: trials)
      let learnerFloor = try await bench.learnerFloor(trials: trials)
      var table = Table(["FAULT", "TRIALS", "MEDIAN", "P90", "MAX", "FLOOR (MEDIAN)", "MEDIAN/FLOOR", "GOAL"])
      for result in try await bench.mttr(trials: trials) {
        let floor = result.fault == .wiped ? learnerFloor : startFloor
        let (median, p90, worst) = BenchTiming.spread(result.times)
        table.add([
          result.fault.rawValue, "\(result.times.count)", BenchTiming.seconds(median), BenchTiming.seconds(p90),
          BenchTiming.seconds(worst), BenchTiming.seconds(floor), String(format: "%.1f", median / floor),
          result.fault == .killed ? "≤ 3 s" : result.fault == .wiped ? "≤ 10 s" : "-",
        ])
        if !result.otherRunbooks.isEmpty {
          print("note: \(result.fault.rawValue) was also repaired by \(result.otherRunbooks.sorted().joined(separator: ", "))")
        }
      }
      print("\nMTTR (fault injected → cluster verified healthy, every voter answering with one leader, writes accepted):")
      print(table.render())
      print(
        """

        Floors: killed/frozen — a bare member's start-to-healthy time (etcd started on its data dir until it answers
        with a leader); wiped — etcd adding a learner, sending it the \(db >> 20) MB snapshot and accepting its promotion.
        """)
    }
  }
}
