import ArgumentParser
import Foundation
import VigilBench

extension BenchCommand {
  /// `vigil bench restore`: RTO and RPO of a quorum lost for good, restored from backup by Vigil, beside
  /// etcd's own floors; and what backups cost. Measured by ``RestoreBench``; rendered here.
  struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "restore",
      abstract: "RTO/RPO of quorum lost for good → restored from backup (P0, auto), beside etcd's floors; backup cost.",
      discussion: """
        Starts its own local 3-member cluster, loads --data-mb of data, lets Vigil take and verify a snapshot, \
        then per trial: --log-writes writes at --rate per second (the change log the restore replays; the \
        defaults are the 60,000 records of 10 minutes at 100 writes/s, written faster), a writer running \
        through the fault, the leader and a follower killed with their data dirs deleted. Backups run with their \
        defaults: once the change log since the last snapshot passes backup.logMaxEvents (20,000) a new full \
        snapshot is taken, so a restore replays at most that many records; REPLAYED shows how many it did.
        """)

    @Option(help: "Restore trials.") var trials: Int = 3
    @Option(help: "Megabytes of data in the cluster.") var dataMb: Int = 100
    @Option(help: "Writes between the snapshot and the fault (change-log records to replay).") var logWrites: Int = 60_000
    @Option(help: "Writes per second while building the change log.") var rate: Int = 1000

    func validate() throws {
      guard (1...100).contains(trials) else { throw ValidationError("--trials \(trials) is out of range (1 to 100)") }
      guard (0...1000).contains(dataMb) else { throw ValidationError("--data-mb \(dataMb) is out of range (0 to 1000)") }
      guard (1...10_000_000).contains(logWrites) else { throw ValidationError("--log-writes \(logWrites) is out of range (1 to 10,000,000)") }
      guard (1...100_000).contains(rate) else { throw ValidationError("--rate \(rate) is out of range (1 to 100,000)") }
    }

    func run() async throws {
      let bench = try await RestoreBench.start()
      do { try await measure(bench) } catch {
        await bench.shutdown()
        throw CLIError("\(error)")
      }
      await bench.shutdown()
    }

    func measure(_ bench: RestoreBench) async throws {
      print("vigil bench restore: local 3-member cluster, tier P0, restores automatic, \(dataMb) MB of data, \(logWrites) change-log writes at \(rate)/s, \(trials) trial(s)")
      let db = try await bench.load(megabytes: dataMb)
      print("loaded: \(db >> 20) MB database")
      let cpuOff = try await bench.cpuWithoutBackups(logWrites: logWrites, rate: rate)
      var etcdctlFloor = 0.0
      var startFloor = 0.0
      let (trials, cost) = try await bench.restores(trials: trials, logWrites: logWrites, rate: rate) { file in
        etcdctlFloor = try await RestoreBench.etcdctlRestoreFloor(file)
        startFloor = try await RestoreBench.bareStartFloor(file)
      }
      var table = Table(["TRIAL", "RTO", "REPLAYED", "LOST WRITES", "LOST WINDOW", "RTO/FLOOR"])
      for (i, t) in trials.enumerated() {
        table.add([
          "\(i + 1)", BenchTiming.seconds(t.rto), "\(t.replayed)", "\(t.lostWrites)",
          t.lostWrites == 0 ? "-" : BenchTiming.seconds(t.lostWindow), String(format: "%.1f", t.rto / startFloor),
        ])
      }
      let (median, p90, worst) = BenchTiming.spread(trials.map(\.rto))
      print("\nRTO (leader + a follower killed, data dirs deleted → restored from backup, every member answering with one leader, a write accepted):")
      print(table.render())
      print("RTO median \(BenchTiming.seconds(median)), p90 \(BenchTiming.seconds(p90)), max \(BenchTiming.seconds(worst)) — goal ≤ 30 s median (aim ≤ 10 s)")
      print("RPO: \(trials.map(\.lostWrites).reduce(0, +)) acknowledged write(s) lost over \(trials.count) trial(s); the oldest lost \(BenchTiming.seconds(trials.map(\.lostWindow).max() ?? 0)) before the fault — goal ≤ 1 s")
      print("floors (same run): etcdctl snapshot restore of the \(cost.snapshotBytes >> 20) MB snapshot \(BenchTiming.seconds(etcdctlFloor)); a bare 3-member cluster restored from it and started \(BenchTiming.seconds(startFloor))")
      if let d = trials.last?.detail, !d.isEmpty { print("last restore: \(d)") }
      print("\nbackup cost at \(rate) writes/s:")
      var costs = Table(["", "PER HOUR"])
      costs.add(["Vigil CPU, backups on", String(format: "%.0f CPU-s", cost.cpuPerHourOn)])
      costs.add(["Vigil CPU, backups off (floor)", String(format: "%.0f CPU-s", cpuOff)])
      costs.add(["backups' own CPU", String(format: "%.0f CPU-s (%.1f%% of a core)", cost.cpuPerHourOn - cpuOff, (cost.cpuPerHourOn - cpuOff) / 36)])
      costs.add(["change log bytes", String(format: "%.1f MiB", cost.logBytesPerHour / Double(1 << 20))])
      costs.add(["full snapshots (P0: 4 an hour)", String(format: "%.1f MiB", Double(cost.snapshotBytes) * 4 / Double(1 << 20))])
      print(costs.render())
    }
  }
}
