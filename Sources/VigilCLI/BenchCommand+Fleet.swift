import ArgumentParser
import Foundation
import VigilBench

extension BenchCommand {
  /// `vigil bench fleet`: one process for a thousand clusters, then the fleet across replicas. Measured by
  /// ``FleetBench``.
  struct Fleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "fleet",
      abstract: "A fleet of clusters at 1 s member probes: CPU, memory, probe lag, detection; then across replicas.",
      discussion: """
        Starts a local 3-member etcd and guards --clusters logical clusters on it (each with its own client and \
        connections; etcd.member on every member, --interval apart; repairs off), from this one process. After \
        the first round and 5 s to settle, it measures over --window: the process's CPU (1.00 = one core), its \
        resident memory, probes run, and probe lag — how late each probe started after it was due (scheduler and \
        concurrency limiter). Then it kills a follower (SIGKILL; a leader's death adds an election, which Vigil lets settle before it calls \
        a member failed) and times, per logical cluster, kill → failed. \
        Then the same fleet across --replicas replicas in this process on a local 1-member management etcd \
        (--ttl leases, --shards shards), each probing only the clusters it owns: their load together, and, one \
        replica killed (no lease revoke, as after SIGKILL), the time from its last renewal until every cluster \
        is guarded by a live replica. The floor of takeover is the lease TTL itself.
        """)

    @Option(help: "Logical clusters.") var clusters: Int = 1000
    @Option(help: "Member-probe interval in milliseconds.") var intervalMs: Int = 1000
    @Option(help: "Measured window in seconds.") var window: Int = 30
    @Option(help: "Replicas in the second part (0 skips it).") var replicas: Int = 3
    @Option(help: "Lease TTL in seconds, for the replicas.") var ttl: Int = 5
    @Option(help: "Shards, for the replicas.") var shards: Int = 64
    @Option(help: "detector.failuresToFail: bad probes in a row before the confirming re-probe.") var failuresToFail: Int = 2

    func validate() throws {
      guard (1...20_000).contains(clusters) else { throw ValidationError("--clusters \(clusters) is out of range (1 to 20000)") }
      guard (100...60_000).contains(intervalMs) else {
        throw ValidationError("--interval-ms \(intervalMs) is out of range (100 to 60000)")
      }
      guard (5...3600).contains(window) else { throw ValidationError("--window \(window) is out of range (5 to 3600 seconds)") }
      guard replicas == 0 || (2...10).contains(replicas) else {
        throw ValidationError("--replicas \(replicas) is out of range (0, or 2 to 10)")
      }
      guard (2...60).contains(ttl) else { throw ValidationError("--ttl \(ttl) is out of range (2 to 60 seconds)") }
      guard (1...4096).contains(shards) else { throw ValidationError("--shards \(shards) is out of range (1 to 4096)") }
      guard (1...10).contains(failuresToFail) else {
        throw ValidationError("--failures-to-fail \(failuresToFail) is out of range (1 to 10)")
      }
    }

    func run() async throws {
      var settings = FleetBench.Settings()
      settings.clusters = clusters
      settings.interval = .milliseconds(intervalMs)
      settings.window = .seconds(window)
      settings.replicas = replicas
      settings.ttl = Int64(ttl)
      settings.shards = shards
      settings.failuresToFail = failuresToFail
      let bench = try await FleetBench.start(settings)
      print("vigil bench fleet: \(clusters) clusters (\(clusters * 3) members) on a local 3-member etcd, member probes every \(intervalMs) ms, detector.failuresToFail \(failuresToFail), \(window) s window, \(ProcessInfo.processInfo.activeProcessorCount) cores")
      let one: (load: FleetBench.Load, detection: FleetBench.Detection)
      var split: (load: FleetBench.Load, takeover: FleetBench.Takeover)?
      do {
        one = try await bench.oneProcess()
        if replicas > 0 { split = try await bench.replicas() }
      } catch {
        await bench.shutdown()
        throw CLIError("\(error)")
      }
      await bench.shutdown()
      var table = Table(["", "GUARDED", "TARGETS", "PROBES/S", "CPU (CORES)", "RSS MIB (PEAK)", "LAG P50", "LAG P99", "LAG MAX"])
      func row(_ name: String, _ l: FleetBench.Load) -> [String] {
        [
          name, "\(l.guards)", "\(l.targets)", String(format: "%.0f", l.probesPerSecond), String(format: "%.2f", l.cores),
          String(format: "%.0f (%.0f)", l.residentMiB, l.peakResidentMiB), Self.ms(FleetBench.percentile(l.lag, 0.5)),
          Self.ms(FleetBench.percentile(l.lag, 0.99)), Self.ms(l.lag.last ?? .nan),
        ]
      }
      table.add(row("one process", one.load))
      if let split { table.add(row("\(replicas) replicas, one process", split.load)) }
      print(table.render())
      let d = one.detection
      let seen = "\(d.times.count) of \(d.clusters) clusters"
      print(
        "killed follower seen failed: \(seen); kill → failed median \(Self.s(FleetBench.percentile(d.times, 0.5))), p99 \(Self.s(FleetBench.percentile(d.times, 0.99))), max \(Self.s(d.times.last ?? .nan)) — floor: \(failuresToFail) bad probe(s) in a row, then the confirming one: \(Self.s((Double(failuresToFail) - 0.5) * Double(intervalMs) / 1000)) on average"
      )
      if let split {
        print(
          "a replica killed: its \(split.takeover.moved) clusters guarded again \(Self.s(split.takeover.fromLastRenewal)) after its last lease renewal — floor: the lease TTL \(ttl) s; ratio \(String(format: "%.2f", split.takeover.fromLastRenewal / Double(ttl)))"
        )
      }
      let l = one.load
      print(
        "goals (one process): CPU ≤ 1 core: \(l.cores <= 1 ? "met" : "NOT met"); RSS ≤ 1024 MiB: \(l.peakResidentMiB <= 1024 ? "met" : "NOT met"); lag p99 ≤ 100 ms: \(FleetBench.percentile(l.lag, 0.99) <= 0.1 ? "met" : "NOT met"); detection median ≤ 1 s: \(FleetBench.percentile(d.times, 0.5) <= 1 ? "met" : "NOT met")"
      )
    }

    static func ms(_ v: Double) -> String { v.isNaN ? "-" : String(format: "%.1f ms", v * 1000) }
    static func s(_ v: Double) -> String { v.isNaN ? "-" : String(format: "%.2f s", v) }
  }
}
