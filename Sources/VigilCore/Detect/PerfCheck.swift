import Foundation

/// The load of a disk check: a short, paced burst of small writes, like `etcdctl check perf`'s smallest profile
/// (which writes 256-byte values at 150 writes/s from 50 clients for 60 s), kept short and light by default so that
/// it can run unattended.
public struct PerfLoad: Sendable, Hashable, Codable {
  public var duration: Duration = .seconds(5)
  public var writesPerSecond = 100
  public var clients = 8
  public var valueSize = 256

  public init() {}

  /// The bounds a configuration is held to: never more than a minute, 2,000 writes a second, 64 clients, 64 KiB.
  public static let maxDuration: Duration = .seconds(60)
  public static let maxWritesPerSecond = 2000
  public static let maxClients = 64
  public static let maxValueSize = 64 << 10

  public var writes: Int { Int((duration.seconds * Double(writesPerSecond)).rounded()) }
}

/// What a disk check measured, and whether it passes etcd's own bar.
public struct PerfVerdict: Sendable, Hashable, Codable {
  public var writes: Int
  public var failed: Int
  public var seconds: Double
  public var throughput: Double
  public var p50: Double
  public var p99: Double
  public var slowest: Double
  public var stddev: Double
  /// Empty when it passes.
  public var problems: [String]

  public var passes: Bool { problems.isEmpty }
}

/// Judges a disk check with `etcdctl check perf`'s thresholds: throughput at least 90 % of the load asked for, the
/// slowest write under 500 ms, the standard deviation of latency under 100 ms — and, stricter than etcdctl, no
/// write may fail. Pure.
public enum PerfCheck {
  public static let minimumThroughputRatio = 0.9
  public static let slowestLimit = 0.5
  public static let stddevLimit = 0.1

  /// - Parameters:
  ///   - latencies: seconds, one per write that succeeded.
  ///   - seconds: how long the whole load took.
  public static func judge(latencies: [Double], failed: Int, seconds: Double, load: PerfLoad) -> PerfVerdict {
    let sorted = latencies.sorted()
    func quantile(_ q: Double) -> Double {
      guard !sorted.isEmpty else { return 0 }
      let rank = Int((Double(sorted.count) * q).rounded(.up)) - 1
      return sorted[min(sorted.count - 1, max(0, rank))]
    }
    let mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
    let variance = sorted.isEmpty ? 0 : sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(sorted.count)
    let stddev = variance.squareRoot()
    let throughput = seconds > 0 ? Double(sorted.count) / seconds : 0
    var problems: [String] = []
    let wanted = Double(load.writesPerSecond)
    if throughput < wanted * minimumThroughputRatio {
      problems.append(
        String(format: "throughput %.0f writes/s is below 90 %% of the %.0f asked for", throughput, wanted))
    }
    if let slowest = sorted.last, slowest > slowestLimit {
      problems.append(String(format: "slowest write took %.0f ms (limit 500 ms)", slowest * 1000))
    }
    if stddev > stddevLimit {
      problems.append(String(format: "latency standard deviation %.0f ms (limit 100 ms)", stddev * 1000))
    }
    if failed > 0 { problems.append("\(failed) of \(failed + sorted.count) writes failed") }
    return PerfVerdict(
      writes: sorted.count, failed: failed, seconds: seconds, throughput: throughput, p50: quantile(0.5),
      p99: quantile(0.99), slowest: sorted.last ?? 0, stddev: stddev, problems: problems)
  }

  /// One line for a probe's message: "PASS: 500 writes in 5.0 s (100/s), p50 1.2 ms, p99 4.0 ms, slowest 6.1 ms".
  public static func describe(_ v: PerfVerdict) -> String {
    let head = v.passes ? "PASS" : "FAIL (" + v.problems.joined(separator: "; ") + ")"
    return head
      + String(
        format: ": %d writes in %.1f s (%.0f/s), p50 %.1f ms, p99 %.1f ms, slowest %.1f ms, stddev %.1f ms", v.writes,
        v.seconds, v.throughput, v.p50 * 1000, v.p99 * 1000, v.slowest * 1000, v.stddev * 1000)
  }
}
