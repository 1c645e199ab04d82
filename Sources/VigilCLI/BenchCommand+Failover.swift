import ArgumentParser
import Foundation
import VigilBench
import VigilConfig

extension BenchCommand {
  /// `vigil bench failover`: the standby's steady lag, and RTO/RPO of site losses failed over by Vigil with
  /// clients going through `vigil proxy`. Measured by ``FailoverBench``; rendered here.
  struct Failover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "failover",
      abstract: "Standby lag at --rate writes/s; RTO/RPO of site losses failed over by Vigil, clients through vigil proxy.",
      discussion: """
        Starts two local 3-member clusters, a primary and its standby, under one engine (P0, failovers \
        automatic after --failover-after) with an in-process proxy following the published endpoints. First a \
        writer at --rate through the proxy for --steady: the lag is each acknowledged write's time until a watch \
        on the standby sees it. Then per trial a site loss — every member of the active side frozen (SIGSTOP: \
        sockets open, nothing answers) — with the writer running: RTO is the fault to the first write \
        acknowledged through the proxy afterwards (on the new side); RPO the acknowledged writes the new side \
        lacks and their age; and writes acknowledged after the fault that the new side lacks (split brain, \
        must be 0). Trials alternate sides: the old side comes back as the standby and is rebuilt first.
        """)

    @Option(help: "Site losses.") var trials: Int = 5
    @Option(help: "Writes per second through the proxy.") var rate: Int = 200
    @Option(help: "How long the steady-lag writer runs (e.g. 20s).") var steady: String = "20s"
    @Option(help: "How long a majority must have failed before Vigil fails over (repair.failoverAfter).")
    var failoverAfter: String = "1s"

    func validate() throws {
      guard (1...100).contains(trials) else { throw ValidationError("--trials \(trials) is out of range (1 to 100)") }
      guard (1...5000).contains(rate) else { throw ValidationError("--rate \(rate) is out of range (1 to 5,000)") }
      guard let d = ConfigDuration(parsing: steady), d.duration >= .seconds(1), d.duration <= .seconds(3600) else {
        throw ValidationError("--steady \"\(steady)\" is not a duration from 1s to 1h")
      }
      guard let f = ConfigDuration(parsing: failoverAfter), f.duration <= .seconds(300) else {
        throw ValidationError("--failover-after \"\(failoverAfter)\" is not a duration up to 300s")
      }
    }

    func run() async throws {
      let bench = try await FailoverBench.start()
      do { try await measure(bench) } catch {
        await bench.shutdown()
        throw CLIError("\(error)")
      }
      await bench.shutdown()
    }

    func measure(_ bench: FailoverBench) async throws {
      print("vigil bench failover: two local 3-member clusters (primary a, standby b), tier P0, failover automatic after \(failoverAfter), \(rate) writes/s through the proxy, \(trials) site loss(es)")
      let (lag, floor, trials) = try await bench.measure(
        trials: trials, rate: rate, steady: ConfigDuration(parsing: steady)!.duration, failoverAfter: failoverAfter)
      print("\nstandby lag at \(rate) writes/s (acknowledged through the proxy → seen by a watch on the standby), \(lag.samples) writes:")
      func ms(_ v: Double) -> String { String(format: "%.1f ms", v * 1000) }
      print("standby: p50 \(ms(lag.p50)), p99 \(ms(lag.p99)), max \(ms(lag.max)) — goal p99 ≤ 100 ms")
      print("floor (same run: a watch on the active side itself, plus one write committed on the standby): p50 \(ms(floor.p50)), p99 \(ms(floor.p99)), max \(ms(floor.max))")
      print("ratio standby/floor: p50 \(String(format: "%.1f", lag.p50 / max(floor.p50, 1e-6))), p99 \(String(format: "%.1f", lag.p99 / max(floor.p99, 1e-6)))")
      var table = Table(["TRIAL", "FROM → TO", "RTO", "LOST WRITES", "LOST WINDOW", "RPO REVISIONS", "ACKED AFTER FAULT, LOST"])
      for (i, t) in trials.enumerated() {
        table.add([
          "\(i + 1)", "\(t.from) → \(t.to)", BenchTiming.seconds(t.rto), "\(t.lostWrites)",
          t.lostWrites == 0 ? "-" : BenchTiming.seconds(t.lostWindow), t.rpoRevisions, "\(t.ackedByFenced)",
        ])
      }
      let (median, p90, worst) = BenchTiming.spread(trials.map(\.rto))
      print("\nsite loss (every member of the active side frozen) → failed over by Vigil → first write acknowledged through the proxy:")
      print(table.render())
      print("RTO median \(BenchTiming.seconds(median)), p90 \(BenchTiming.seconds(p90)), max \(BenchTiming.seconds(worst)) — goal ≤ 30 s (aim ≤ 5 s)")
      print("RPO: \(trials.map(\.lostWrites).reduce(0, +)) acknowledged write(s) lost over \(trials.count) trial(s); the oldest lost \(BenchTiming.seconds(trials.map(\.lostWindow).max() ?? 0)) before the fault — goal ≤ 1 s")
      print("writes acknowledged after the fault and missing on the new side: \(trials.map(\.ackedByFenced).reduce(0, +)) — goal 0")
    }
  }
}
