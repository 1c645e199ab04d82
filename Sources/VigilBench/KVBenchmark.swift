import Foundation
import NIOConcurrencyHelpers
import VigilCore
import VigilEtcd
import VigilRuntime

/// One measured cell of `vigil bench kv`.
public struct KVBenchResult: Sendable, Codable, Hashable {
  public var workload: String
  public var callers: Int
  public var ops: Int
  public var errors: Int
  public var seconds: Double
  public var p50Ms: Double
  public var p99Ms: Double
  public var opsPerSecond: Double { seconds > 0 ? Double(ops) / seconds : 0 }

  enum CodingKeys: String, CodingKey {
    case workload, callers, ops, errors, seconds
    case p50Ms = "p50_ms"
    case p99Ms = "p99_ms"
  }
}

/// The closed-loop load `vigil bench kv` runs: `callers` tasks each issue one
/// call at a time for `duration`, after a warm-up. The Go peer
/// (bench/go-kv) runs the same loop, keys and value size.
public enum KVBenchmark {
  public static let workloads = ["put", "get-serializable", "get-linearizable"]

  public static func seed(client: EtcdClient, valueSize: Int) async throws {
    let value = String(repeating: "v", count: valueSize)
    for i in 0..<1000 { try await client.kv.put("/bench/\(i)", value) }
  }

  public static func run(
    client: EtcdClient, workload: String, callers: Int, duration: Duration, warmup: Duration = .milliseconds(500),
    valueSize: Int = 100
  ) async -> KVBenchResult {
    let value = String(repeating: "v", count: valueSize)
    let clock = ContinuousClock()
    let measureFrom = clock.now + warmup
    let end = measureFrom + duration
    let merged = NIOLockedValueBox((latencies: [Int64](), errors: 0))
    await withTaskGroup(of: Void.self) { group in
      for caller in 0..<callers {
        group.addTask {
          var latencies: [Int64] = []
          latencies.reserveCapacity(1 << 16)
          var errors = 0
          var i = caller * 7919
          while true {
            let t0 = clock.now
            if t0 > end { break }
            let key = "/bench/\(i % 1000)"
            var failed = false
            do {
              switch workload {
              case "put": try await client.kv.put(key, value)
              case "get-serializable": _ = try await client.kv.get(key, consistency: .serializable)
              default: _ = try await client.kv.get(key)
              }
            } catch {
              failed = true
            }
            let t1 = clock.now
            if t0 > measureFrom {
              if failed {
                errors += 1
              } else {
                latencies.append((t1 - t0).nanoseconds)
              }
            }
            i += 1
          }
          merged.withLockedValue {
            $0.latencies += latencies
            $0.errors += errors
          }
        }
      }
    }
    var (latencies, errors) = merged.withLockedValue { $0 }
    latencies.sort()
    func pct(_ p: Double) -> Double {
      latencies.isEmpty ? 0 : Double(latencies[Int(p * Double(latencies.count - 1))]) / 1_000_000
    }
    let c = duration.components
    return KVBenchResult(
      workload: workload, callers: callers, ops: latencies.count, errors: errors,
      seconds: Double(c.seconds) + Double(c.attoseconds) / 1e18, p50Ms: pct(0.5), p99Ms: pct(0.99))
  }

  /// One cell (a workload at a caller count): `rounds` rounds, Vigil's client and the Go peer alternating, the
  /// median round of each.
  public static func cell(
    client: EtcdClient, leader: EtcdEndpoint, goBinary: String?, workload: String, callers: Int, rounds: Int,
    duration: Double, valueSize: Int
  ) async throws -> (swift: KVBenchResult, go: KVBenchResult?) {
    var swiftRounds: [KVBenchResult] = []
    var goRounds: [KVBenchResult] = []
    for _ in 0..<max(1, rounds) {
      swiftRounds.append(
        await run(
          client: client, workload: workload, callers: callers, duration: .milliseconds(Int64(duration * 1000)),
          valueSize: valueSize))
      if let goBinary {
        goRounds.append(
          try await runGo(
            binary: goBinary, endpoint: leader, workload: workload, callers: callers, duration: duration,
            valueSize: valueSize))
      }
    }
    return (median(swiftRounds)!, median(goRounds))
  }

  /// The member that leads the cluster `endpoints` belong to.
  public static func leader(of endpoints: [EtcdEndpoint]) async throws -> EtcdEndpoint {
    let client = try EtcdClient(configuration: EtcdClientConfiguration(endpoints: endpoints))
    let statuses = await client.statuses(of: endpoints, timeout: .seconds(2))
    await client.shutdown()
    let answered = statuses.compactMap { try? $0.get() }
    guard let leaderID = answered.first(where: { $0.leader != 0 })?.leader else {
      throw BenchError("no member of \(endpoints.map(\.description).joined(separator: ", ")) knows a leader")
    }
    return zip(endpoints, statuses).first { (try? $0.1.get().memberID) == leaderID }?.0 ?? endpoints[0]
  }

  /// The round with the median throughput (nil for no rounds).
  public static func median(_ rounds: [KVBenchResult]) -> KVBenchResult? {
    guard !rounds.isEmpty else { return nil }
    return rounds.sorted { $0.opsPerSecond < $1.opsPerSecond }[rounds.count / 2]
  }

  /// Builds (once) and runs the Go peer for one cell.
  public static func runGo(
    binary: String, endpoint: EtcdEndpoint, workload: String, callers: Int, duration: Double, valueSize: Int
  ) async throws -> KVBenchResult {
    let result = try await ChildProcess.run(
      binary,
      [
        "-endpoints", endpoint.description, "-workload", workload, "-callers", String(callers),
        "-duration", "\(Int(duration * 1000))ms", "-value-size", String(valueSize),
      ])
    guard result.status == 0 else {
      throw BenchError(
        "Go peer benchmark failed: \(result.stderr.split(separator: "\n").last ?? "exit \(result.status)")")
    }
    return try JSONDecoder().decode(KVBenchResult.self, from: Data(result.stdout.utf8))
  }

  /// Finds bench/go-kv/main.go and builds it with Debian's Go in GOPATH mode
  /// (offline, against clientv3 from golang-etcd-server-dev).
  public static func buildGoPeer() async throws -> String {
    let fm = FileManager.default
    var candidates = [fm.currentDirectoryPath]
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    candidates.append(exe.deletingLastPathComponent().appendingPathComponent("../../..").standardized.path)
    candidates.append(exe.deletingLastPathComponent().appendingPathComponent("../..").standardized.path)
    guard let root = candidates.first(where: { fm.fileExists(atPath: $0 + "/bench/go-kv/main.go") }) else {
      throw BenchError("cannot find bench/go-kv/main.go (run from the Vigil source tree, or pass --no-go)")
    }
    guard fm.isExecutableFile(atPath: "/usr/bin/go") else {
      throw BenchError("Go is not installed (apt-get install -y golang-go golang-etcd-server-dev, or pass --no-go)")
    }
    let output = root + "/.build-go/go-kv"
    var env = ProcessInfo.processInfo.environment
    env["GO111MODULE"] = "off"
    env["GOPATH"] = "/usr/share/gocode"
    env["GOCACHE"] = root + "/.build-go/cache"
    // The file by its path, not `go -C DIR`: `-C` needs Go 1.20 and Debian's golang-go is 1.19.
    let result = try await ChildProcess.run(
      "/usr/bin/go", ["build", "-o", output, root + "/bench/go-kv/main.go"], environment: env)
    guard result.status == 0 else { throw BenchError("building the Go peer failed: \(result.stderr)") }
    return output
  }
}
