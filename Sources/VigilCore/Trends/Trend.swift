/// A robust straight-line trend of a series and when it will cross a threshold: the forecast behind findings such
/// as "quota reached in ~3 h 20 m at the last 4 h's growth".
///
/// The fit is Theil–Sen — the slope is the median of the slopes between every pair of samples, the intercept the
/// median of what each sample says it is — so a few wild samples (a compaction's drop, a defragment, a scrape that
/// caught a spike) do not tilt it: up to ~29 % of the samples may be outliers. Pure: samples and "now" come in.
public struct Trend: Sendable, Hashable {
  /// Change per second.
  public var slope: Double
  /// The fitted value at `at`.
  public var value: Double
  /// The time the fit is anchored at (the newest sample's), seconds.
  public var at: Double
  /// Samples the fit used.
  public var samples: Int
  /// The time the samples span, seconds.
  public var span: Double

  /// Samples beyond this are thinned evenly before fitting (the pairwise slopes grow with the square).
  public static let maxSamples = 200

  /// Fits the samples of the last `window` seconds before `now`; nil with fewer than `minSamples` of them or when
  /// they span less than a quarter of the window (too short a look to call a trend).
  public static func fit(
    _ series: [(t: Double, v: Double)], window: Double, now: Double, minSamples: Int = 6
  ) -> Trend? {
    var points = series.filter { $0.t > now - window && $0.t <= now }.sorted { $0.t < $1.t }
    guard points.count >= max(minSamples, 2), let first = points.first, let last = points.last,
      last.t - first.t >= window / 4
    else { return nil }
    if points.count > maxSamples {
      let step = Double(points.count - 1) / Double(maxSamples - 1)
      points = (0..<maxSamples).map { points[Int((Double($0) * step).rounded())] }
    }
    var slopes: [Double] = []
    slopes.reserveCapacity(points.count * (points.count - 1) / 2)
    for i in 0..<points.count {
      for j in (i + 1)..<points.count where points[j].t > points[i].t {
        slopes.append((points[j].v - points[i].v) / (points[j].t - points[i].t))
      }
    }
    guard let slope = median(slopes) else { return nil }
    guard let intercept = median(points.map { $0.v - slope * ($0.t - last.t) }) else { return nil }
    return Trend(slope: slope, value: intercept, at: last.t, samples: points.count, span: last.t - first.t)
  }

  /// The fitted value `seconds` after `at`.
  public func value(after seconds: Double) -> Double { value + slope * seconds }

  /// Seconds after `at` until the fitted line reaches `threshold` from below: 0 when it is there already, nil when
  /// it is not rising (or rises too slowly to matter within `horizon`).
  public func timeToReach(_ threshold: Double, horizon: Double = 30 * 86_400) -> Double? {
    if value >= threshold { return 0 }
    guard slope > 0 else { return nil }
    let t = (threshold - value) / slope
    return t <= horizon ? t : nil
  }

  /// "~3 h 20 m", "~45 m", "~2 d 4 h", "now".
  public static func describe(_ seconds: Double) -> String {
    guard seconds >= 60 else { return seconds <= 0 ? "now" : "~1 m" }
    let minutes = Int((seconds / 60).rounded())
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60)
    if d > 0 { return h > 0 ? "~\(d) d \(h) h" : "~\(d) d" }
    if h > 0 { return m > 0 ? "~\(h) h \(m) m" : "~\(h) h" }
    return "~\(m) m"
  }

  static func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
}
