import ArgumentParser
import Foundation
import VigilBench

extension BenchCommand {
  /// `vigil bench takeover`: how long a dead replica's shards stay unowned. Measured by ``TakeoverBench``.
  struct Takeover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "takeover",
      abstract: "Replicas on a management etcd: a killed replica's shards owned again, beside etcd's own lease expiry.",
      discussion: """
        Starts a local 1-member etcd as the management cluster and, per trial, --replicas coordinators sharing \
        --shards shards under --ttl leases. Once they share the shards as the rendezvous map says, one is killed \
        (its loops stop, its lease is left to expire, as after SIGKILL). Takeover: from its last renewal to every \
        shard owned by a live replica (their own views, sampled every 5 ms; a shard owned twice at any sample is \
        counted and must be 0). Stopped acting: from its last renewal to its own view owning nothing. Floor: a \
        lease of the same TTL, renewed once and left, to its key's deletion by etcd.
        """)

    @Option(help: "Replicas killed, one per trial.") var trials: Int = 5
    @Option(help: "Replicas per trial.") var replicas: Int = 3
    @Option(help: "Lease TTL in seconds (coordination.leaseTTL).") var ttl: Int = 5
    @Option(help: "Shards (coordination.shards).") var shards: Int = 64

    func validate() throws {
      guard (1...100).contains(trials) else { throw ValidationError("--trials \(trials) is out of range (1 to 100)") }
      guard (2...20).contains(replicas) else { throw ValidationError("--replicas \(replicas) is out of range (2 to 20)") }
      guard (2...60).contains(ttl) else { throw ValidationError("--ttl \(ttl) is out of range (2 to 60 seconds)") }
      guard (1...4096).contains(shards) else { throw ValidationError("--shards \(shards) is out of range (1 to 4096)") }
    }

    func run() async throws {
      let bench = try await TakeoverBench.start()
      print("vigil bench takeover: a local 1-member management etcd, \(replicas) replicas, \(shards) shards, \(ttl) s leases, \(trials) replica(s) killed")
      var results: [TakeoverBench.Trial] = []
      do {
        for n in 0..<trials {
          results.append(try await bench.trial(n, replicas: replicas, ttl: Int64(ttl), shards: shards))
        }
      } catch {
        await bench.shutdown()
        throw CLIError("\(error)")
      }
      await bench.shutdown()
      var table = Table(["TRIAL", "STOPPED ACTING", "TAKEOVER", "FLOOR (ETCD EXPIRY)", "TWO OWNERS SEEN"])
      for (i, r) in results.enumerated() {
        table.add([
          "\(i + 1)", BenchTiming.seconds(r.stoppedActing), BenchTiming.seconds(r.takeover), BenchTiming.seconds(r.floor),
          "\(r.overlaps)",
        ])
      }
      print(table.render())
      let takeover = results.map(\.takeover).sorted()
      let floor = results.map(\.floor).sorted()
      let stopped = results.map(\.stoppedActing).sorted()
      func line(_ v: [Double]) -> String {
        "\(BenchTiming.seconds(v.first!)) / \(BenchTiming.seconds(v[v.count / 2])) / \(BenchTiming.seconds(v.last!))"
      }
      print("stopped acting (min/median/max, from its last renewal): \(line(stopped)) — before any other could take over")
      print("takeover (min/median/max, from its last renewal): \(line(takeover)) — goal ≤ one lease TTL (\(ttl) s) after the death")
      print("floor (etcd expiring a \(ttl) s lease): \(line(floor)); ratio takeover/floor (medians) \(String(format: "%.2f", takeover[takeover.count / 2] / max(floor[floor.count / 2], 1e-6)))")
      print("shards owned by two replicas at once, in all samples: \(results.map(\.overlaps).reduce(0, +)) (must be 0)")
    }
  }
}
