/// A loop that has not turned for too long, with how long and what was expected.
public struct StalledLoop: Sendable, Hashable, Codable {
  /// The loop's name (`probe:cluster/m1|etcd.kv`, `history-writer`, `repair`, …).
  public var loop: String
  /// Seconds since its last turn (or since it was registered, if it never turned).
  public var ageSeconds: Double
  /// The longest a healthy turn of this loop takes, in seconds.
  public var periodSeconds: Double

  public init(loop: String, ageSeconds: Double, periodSeconds: Double) {
    self.loop = loop
    self.ageSeconds = ageSeconds
    self.periodSeconds = periodSeconds
  }
}

/// Tuning of stall detection.
public struct LivenessSettings: Sendable, Hashable {
  /// A loop is stalled once it has not turned for this many of its periods.
  public var stallPeriods: Double = 5
  /// …and for at least this long (a 100 ms probe loop delayed by one slow
  /// disk write is not stalled).
  public var minimumStall: Duration = .seconds(5)
  /// The internal watchdog gives up (the process exits so a supervisor restarts it) once a loop
  /// has been stalled this long; nil: never.
  public var exitAfter: Duration? = .seconds(60)

  public init() {}
}

/// Which of Vigil's long-running loops still turn. Each loop registers with
/// the longest a healthy turn takes (its interval plus the work of one turn)
/// and reports every turn; a loop silent for several of its periods is stalled.
///
/// Pure: times are seconds passed in by the caller; no clock, no I/O.
public struct LoopLiveness: Sendable, Hashable {
  public var settings: LivenessSettings
  private(set) var loops: [String: Entry] = [:]

  struct Entry: Sendable, Hashable {
    var period: Double
    var lastTurn: Double
    var turns: Int
  }

  public init(settings: LivenessSettings = LivenessSettings()) {
    self.settings = settings
  }

  /// Starts watching a loop (again: an existing entry is reset). Its clock starts now.
  public mutating func register(_ loop: String, period: Duration, at now: Double) {
    loops[loop] = Entry(period: period.seconds, lastTurn: now, turns: 0)
  }

  /// Stops watching a loop (it ended on purpose).
  public mutating func remove(_ loop: String) {
    loops[loop] = nil
  }

  /// Records one turn of a loop; a loop not registered is ignored.
  public mutating func turned(_ loop: String, at now: Double) {
    guard var entry = loops[loop] else { return }
    entry.lastTurn = Swift.max(entry.lastTurn, now)
    entry.turns += 1
    loops[loop] = entry
  }

  /// Loop names watched now.
  public var names: [String] { loops.keys.sorted() }

  /// When the loop last turned (or was registered), in seconds; nil if unknown.
  public func lastTurn(of loop: String) -> Double? { loops[loop]?.lastTurn }

  /// How many times the loop turned since it was registered.
  public func turns(of loop: String) -> Int { loops[loop]?.turns ?? 0 }

  /// How long a loop with this period may stay silent before it counts as stalled.
  public func threshold(period: Double) -> Double {
    Swift.max(period * settings.stallPeriods, settings.minimumStall.seconds)
  }

  /// Loops silent for longer than their threshold, the longest silent first.
  public func stalled(at now: Double) -> [StalledLoop] {
    loops.compactMap { name, entry -> StalledLoop? in
      let age = now - entry.lastTurn
      guard age > threshold(period: entry.period) else { return nil }
      return StalledLoop(loop: name, ageSeconds: age, periodSeconds: entry.period)
    }
    .sorted { ($0.ageSeconds, $0.loop) > ($1.ageSeconds, $1.loop) }
  }

  /// What the watchdog does now.
  public enum Verdict: Sendable, Hashable {
    /// Every loop turns: tell the supervisor all is well.
    case alive
    /// Some loops are stalled: withhold the supervisor's keep-alive and report them.
    case stalled([StalledLoop])
    /// Loops have been stalled past `exitAfter`: give up so the supervisor restarts Vigil.
    case giveUp([StalledLoop])
  }

  /// The watchdog's decision at `now`.
  public func verdict(at now: Double) -> Verdict {
    let stalled = stalled(at: now)
    guard !stalled.isEmpty else { return .alive }
    if let exitAfter = settings.exitAfter {
      // Stalled for `exitAfter` beyond its own threshold.
      let hopeless = stalled.filter { $0.ageSeconds - threshold(period: $0.periodSeconds) >= exitAfter.seconds }
      if !hopeless.isEmpty { return .giveUp(stalled) }
    }
    return .stalled(stalled)
  }
}
