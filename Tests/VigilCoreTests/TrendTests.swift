import Testing
import VigilCore

/// The forecast on its own: series in, slope and time to a threshold out.
@Suite("Trends (pure)")
struct TrendTests {
  /// A steady 1 MiB a minute for 4 h, one sample a minute: the quota 10 MiB above the last value is 10 m away.
  @Test func aSteadyGrowthReachesItsThresholdWhenTheLineSays() throws {
    let mib = 1_048_576.0
    let series = (0..<240).map { (t: Double($0) * 60, v: 100 * mib + Double($0) * mib) }
    let now = 239 * 60.0
    let trend = try #require(Trend.fit(series, window: 4 * 3600, now: now))
    #expect(abs(trend.slope - mib / 60) < 1e-6)
    #expect(abs(trend.value - 339 * mib) < 1)
    let eta = try #require(trend.timeToReach(349 * mib))
    #expect(abs(eta - 600) < 1e-6)
    #expect(Trend.describe(eta) == "~10 m")
    #expect(trend.samples == Trend.maxSamples && trend.span == now)
  }

  /// A quarter of the samples wild (a defragment's drop, spikes): the slope stays that of the rest.
  @Test func outliersDoNotTiltTheFit() throws {
    var series = (0..<100).map { (t: Double($0) * 10, v: 1000 + Double($0) * 5) }
    for i in stride(from: 3, to: 100, by: 4) { series[i].v = i % 8 == 3 ? 0 : 1_000_000 }
    let trend = try #require(Trend.fit(series, window: 1000, now: 990))
    #expect(abs(trend.slope - 0.5) < 0.02, "\(trend.slope)")
    #expect(abs(trend.value - (1000 + 99 * 5)) < 10, "\(trend.value)")
  }

  @Test func aFallingOrFlatSeriesNeverReachesItAndOnePastItIsThereNow() throws {
    let falling = (0..<20).map { (t: Double($0), v: 100 - Double($0)) }
    let down = try #require(Trend.fit(falling, window: 20, now: 19))
    #expect(down.timeToReach(200) == nil)
    #expect(down.timeToReach(50) == 0)
    let flat = try #require(Trend.fit((0..<20).map { (t: Double($0), v: 7.0) }, window: 20, now: 19))
    #expect(flat.slope == 0 && flat.timeToReach(8) == nil)
    // Rising, but too slowly to matter within the horizon.
    let slow = try #require(Trend.fit((0..<20).map { (t: Double($0), v: Double($0) * 1e-9) }, window: 20, now: 19))
    #expect(slow.timeToReach(1, horizon: 86_400) == nil)
  }

  @Test func tooFewSamplesOrTooShortALookIsNoTrend() {
    let few = (0..<5).map { (t: Double($0) * 60, v: Double($0)) }
    #expect(Trend.fit(few, window: 300, now: 240) == nil)
    // Ten samples, but all within the last 10 s of a 4 h window.
    let short = (0..<10).map { (t: 14_390 + Double($0), v: Double($0)) }
    #expect(Trend.fit(short, window: 4 * 3600, now: 14_400) == nil)
    // Samples outside the window are left out.
    let before: [(t: Double, v: Double)] = (0..<100).map { (t: Double($0), v: Double($0)) }
    let recent: [(t: Double, v: Double)] = (0..<10).map { (t: 10_000 + Double($0) * 60, v: 5.0) }
    let old = before + recent
    #expect(Trend.fit(old, window: 900, now: 10_540)?.slope == 0)
  }

  @Test func timesAreWrittenForPeople() {
    #expect(Trend.describe(0) == "now")
    #expect(Trend.describe(30) == "~1 m")
    #expect(Trend.describe(12_000) == "~3 h 20 m")
    #expect(Trend.describe(7200) == "~2 h")
    #expect(Trend.describe(187_200) == "~2 d 4 h")
  }
}
