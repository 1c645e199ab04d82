import Testing
import VigilCore

@Suite("Disk check verdict (pure)")
struct PerfCheckTests {
  var load: PerfLoad {
    var l = PerfLoad()
    l.duration = .seconds(2)
    l.writesPerSecond = 50
    return l
  }

  @Test func aSteadyFastLoadPasses() {
    let latencies = (0..<100).map { 0.002 + Double($0 % 10) * 0.0002 }
    let v = PerfCheck.judge(latencies: latencies, failed: 0, seconds: 2.0, load: load)
    #expect(v.passes)
    #expect(v.writes == 100 && v.throughput == 50)
    #expect(abs(v.p50 - 0.0028) < 1e-9 && abs(v.slowest - 0.0038) < 1e-9)
    #expect(PerfCheck.describe(v).hasPrefix("PASS: 100 writes in 2.0 s (50/s), p50 2.8 ms"))
  }

  @Test func eachOfEtcdsBarsFailsItWithTheReason() {
    // One write stalled 0.8 s: slowest over 500 ms and a wide spread.
    var stalled = Array(repeating: 0.002, count: 99)
    stalled.append(0.8)
    let v = PerfCheck.judge(latencies: stalled, failed: 0, seconds: 2.0, load: load)
    #expect(!v.passes)
    #expect(v.problems.contains("slowest write took 800 ms (limit 500 ms)"))
    // Too slow overall: 60 writes in 2 s against 50/s asked for.
    let slow = PerfCheck.judge(latencies: Array(repeating: 0.002, count: 60), failed: 0, seconds: 2.0, load: load)
    #expect(slow.problems == ["throughput 30 writes/s is below 90 % of the 50 asked for"])
    // A spread above 100 ms without any single write past 500 ms.
    let spread = PerfCheck.judge(
      latencies: (0..<100).map { $0 % 2 == 0 ? 0.001 : 0.45 }, failed: 0, seconds: 2.0, load: load)
    #expect(spread.problems == ["latency standard deviation 224 ms (limit 100 ms)"])
    // Failed writes fail it.
    let failing = PerfCheck.judge(latencies: Array(repeating: 0.002, count: 98), failed: 2, seconds: 2.0, load: load)
    #expect(failing.problems.last == "2 of 100 writes failed")
  }
}
