/// The recent latency of one target and the threshold above which a
/// successful probe still counts as "too slow": mean + k·σ of the window,
/// never below a floor (so a very steady target does not flag noise).
public struct LatencyBaseline: Sendable, Hashable {
  public let capacity: Int
  public let k: Double
  public let floor: Duration
  /// Samples needed before the adaptive threshold is trusted (before that, only the floor applies).
  public let minimumSamples: Int
  private var samples: [Double] = []  // seconds, ring buffer
  private var next = 0

  public init(capacity: Int = 64, k: Double = 4, floor: Duration = .milliseconds(250), minimumSamples: Int = 8) {
    precondition(capacity > 1 && minimumSamples >= 2)
    self.capacity = capacity
    self.k = k
    self.floor = floor
    self.minimumSamples = minimumSamples
  }

  public mutating func add(_ latency: Duration) {
    let value = latency.seconds
    if samples.count < capacity {
      samples.append(value)
    } else {
      samples[next] = value
      next = (next + 1) % capacity
    }
  }

  public var count: Int { samples.count }

  /// Enough samples to judge latency at all; before that nothing counts as slow.
  public var isTrained: Bool { samples.count >= minimumSamples }

  public var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }

  public var standardDeviation: Double {
    guard samples.count > 1 else { return 0 }
    let m = mean
    let variance = samples.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(samples.count - 1)
    return variance.squareRoot()
  }

  /// Latencies above this are "slow". Until enough samples exist, only the floor applies.
  public var threshold: Duration {
    guard samples.count >= minimumSamples else { return floor }
    let adaptive = Duration.seconds(mean + k * standardDeviation)
    return adaptive > floor ? adaptive : floor
  }
}

extension Duration {
  /// The duration in seconds, as a Double.
  public var seconds: Double {
    let c = components
    return Double(c.seconds) + Double(c.attoseconds) / 1e18
  }

  /// The duration in whole nanoseconds (what timers and metrics take).
  public var nanoseconds: Int64 {
    let c = components
    return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
  }
}
