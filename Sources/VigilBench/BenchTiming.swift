import Foundation

/// A benchmark that could not measure: what went wrong.
public struct BenchError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// What the benchmarks share: waiting on a condition, and median / p90 / max.
public enum BenchTiming {
  /// Polls `condition` every 5 ms until it holds (true) or `timeout` passes (false).
  public static func wait(timeout: Duration = .seconds(30), _ condition: () async -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if await condition() { return true }
      try await Task.sleep(for: .milliseconds(5))
    }
    return false
  }

  /// Median, 90th percentile and maximum of `times` (not empty).
  public static func spread(_ times: [Double]) -> (median: Double, p90: Double, max: Double) {
    let sorted = times.sorted()
    return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.9))], sorted.last!)
  }

  public static func seconds(_ v: Double) -> String { String(format: "%.2f s", v) }
}
