import Testing
import VigilCore

@Suite("Loop liveness")
struct LoopLivenessTests {
  func liveness(periods: Double = 5, minimum: Duration = .seconds(5), exitAfter: Duration? = .seconds(60))
    -> LoopLiveness
  {
    var settings = LivenessSettings()
    settings.stallPeriods = periods
    settings.minimumStall = minimum
    settings.exitAfter = exitAfter
    return LoopLiveness(settings: settings)
  }

  @Test func aLoopThatTurnsIsNeverStalled() {
    var l = liveness()
    l.register("probe:c|etcd.kv", period: .seconds(2), at: 0)
    for t in stride(from: 1.0, through: 100, by: 1.9) {
      l.turned("probe:c|etcd.kv", at: t)
      #expect(l.stalled(at: t + 1).isEmpty)
    }
    #expect(l.verdict(at: 100) == .alive)
    #expect(l.turns(of: "probe:c|etcd.kv") == 53)
  }

  @Test func aSilentLoopIsStalledAfterSeveralPeriodsNamingItsAge() {
    var l = liveness()
    l.register("history-writer", period: .seconds(2), at: 0)
    l.register("repair", period: .seconds(1), at: 0)
    l.turned("history-writer", at: 1)
    l.turned("repair", at: 1)
    // repair: threshold max(5 × 1, 5) = 5 s; history-writer: 5 × 2 = 10 s.
    #expect(l.stalled(at: 6).isEmpty)
    #expect(l.stalled(at: 6.5).map(\.loop) == ["repair"])
    let both = l.stalled(at: 12)
    #expect(both.map(\.loop) == ["repair", "history-writer"] || both.map(\.loop) == ["history-writer", "repair"])
    #expect(both.first { $0.loop == "repair" }?.ageSeconds == 11)
    #expect(both.first { $0.loop == "history-writer" }?.periodSeconds == 2)
    // One turn brings it back.
    l.turned("repair", at: 12)
    #expect(l.stalled(at: 12).map(\.loop) == ["history-writer"])
  }

  @Test func aLoopThatNeverTurnsCountsFromItsRegistration() {
    var l = liveness()
    l.register("membership:c", period: .seconds(1), at: 100)
    #expect(l.stalled(at: 104).isEmpty)
    #expect(l.stalled(at: 106).first?.ageSeconds == 6)
  }

  @Test func theMinimumKeepsFastLoopsFromCountingAHiccup() {
    var l = liveness(periods: 5, minimum: .seconds(5))
    l.register("probe:c|etcd.kv", period: .milliseconds(100), at: 0)
    #expect(l.stalled(at: 4.9).isEmpty)  // 5 × 0.1 s would be 0.5 s
    #expect(!l.stalled(at: 5.1).isEmpty)
  }

  @Test func removedLoopsAndUnknownTurnsAreIgnored() {
    var l = liveness()
    l.register("inspections:c", period: .seconds(1), at: 0)
    l.remove("inspections:c")
    l.turned("never-registered", at: 1)
    #expect(l.names.isEmpty)
    #expect(l.stalled(at: 1000).isEmpty)
  }

  @Test func turnsOutOfOrderNeverMoveTheClockBack() {
    var l = liveness()
    l.register("repair", period: .seconds(1), at: 0)
    l.turned("repair", at: 10)
    l.turned("repair", at: 3)
    #expect(l.lastTurn(of: "repair") == 10)
  }

  @Test func theWatchdogGivesUpOnlyAfterExitAfterBeyondTheThreshold() {
    var l = liveness(periods: 5, minimum: .seconds(5), exitAfter: .seconds(30))
    l.register("repair", period: .seconds(1), at: 0)
    l.register("history-writer", period: .seconds(1), at: 0)
    l.turned("history-writer", at: 30)
    guard case .stalled(let s) = l.verdict(at: 20) else {
      Issue.record("expected stalled at 20 s")
      return
    }
    #expect(s.map(\.loop) == ["repair"])
    guard case .giveUp(let all) = l.verdict(at: 36) else {
      Issue.record("expected give-up at 36 s (stalled 5 s + 30 s)")
      return
    }
    #expect(all.map(\.loop) == ["repair", "history-writer"])
    var never = liveness(exitAfter: nil)
    never.register("repair", period: .seconds(1), at: 0)
    #expect(never.verdict(at: 1e6) == .stalled([StalledLoop(loop: "repair", ageSeconds: 1e6, periodSeconds: 1)]))
  }
}
