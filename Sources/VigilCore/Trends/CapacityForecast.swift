/// One inspection's reading of a member's backend size.
public struct CapacitySample: Sendable, Hashable {
  /// Seconds since 1970.
  public var at: Double
  public var dbSize: Int64
  public var inUse: Int64

  public init(at: Double, dbSize: Int64, inUse: Int64) {
    self.at = at
    self.dbSize = dbSize
    self.inUse = inUse
  }
}

/// How far the forecasts look and when they act.
public struct ForecastSettings: Sendable, Hashable {
  /// The fit's window, seconds: 4 h, the etcd mixin's `predict_linear` window — long enough that a burst of writes
  /// or one compaction does not make a trend, short enough to follow a change in the load within the hour.
  public var window: Double = 4 * 3600
  /// A breach further away than this is not reported, seconds.
  public var horizon: Double = 7 * 86_400
  /// A breach this close is critical (an alert), seconds: time for a person to act.
  public var alertWithin: Double = 4 * 3600
  /// A breach this close that free pages explain is defragmented at once, seconds.
  public var actWithin: Double = 24 * 3600
  /// Fewest samples a fit takes.
  public var minSamples = 6
  /// Free pages below this are not worth a defragment.
  public var defragmentMinimumBytes: Int64 = 64 << 20

  public init() {}
}

/// Capacity forecasts: when a member's backend reaches the quota at its recent growth, whether that growth is data
/// (compact or raise the quota) or free pages (defragment), and how soon to act. Pure.
public enum CapacityForecast {
  /// The `quota-forecast` finding for one member, or nil when its backend is not on course to the quota within the
  /// horizon (or there are too few samples to say).
  public static func finding(
    cluster: String, member: String, samples: [CapacitySample], quota: Int64, now: Double, settings: ForecastSettings
  ) -> Finding? {
    guard let last = samples.max(by: { $0.at < $1.at }), let (total, eta) = course(samples, quota: quota, now: now, settings: settings)
    else { return nil }
    let inUse = Trend.fit(
      samples.map { (t: $0.at, v: Double($0.inUse)) }, window: settings.window, now: now, minSamples: settings.minSamples)
    let free = last.dbSize - last.inUse
    // Free pages explain the growth when the data itself would not reach the quota before twice that long, and
    // a defragment gives back enough to matter.
    let dataETA = inUse?.timeToReach(Double(quota), horizon: settings.horizon * 2)
    let freePages = (dataETA.map { $0 > 2 * eta } ?? true) && free >= settings.defragmentMinimumBytes
    let window = span(settings.window)
    let perHour = total.slope * 3600
    var evidence = [
      "dbSize \(last.dbSize), inUse \(last.inUse), quota \(quota)",
      "fit of \(total.samples) samples over \(span(total.span)): \(signed(perHour))/h in file size, "
        + "\(inUse.map { signed($0.slope * 3600) } ?? "unknown")/h in use",
    ]
    if let dataETA { evidence.append("data alone reaches the quota in \(Trend.describe(dataETA))") }
    let action: String
    if freePages {
      action =
        eta <= settings.actWithin
        ? "defragment now: the growth is free pages (\(Inspector.bytes(free)) to give back)"
        : "defragment before then: the growth is free pages (\(Inspector.bytes(free)) to give back)"
    } else {
      action = "compact old revisions (--auto-compaction-retention) or raise --quota-backend-bytes before then"
    }
    evidence.append("alert within \(Trend.describe(settings.alertWithin)), act within \(Trend.describe(settings.actWithin))")
    return Finding(
      check: "quota-forecast", cluster: cluster, member: member, severity: eta <= settings.alertWithin ? .critical : .warning,
      summary: eta == 0
        ? "\(member)'s DB is at its quota"
        : "\(member)'s quota reached in \(Trend.describe(eta)) at the last \(window)'s growth "
          + "(\(Inspector.bytes(last.dbSize)) of \(Inspector.bytes(quota)), \(signed(perHour))/h)",
      evidence: evidence, action: action)
  }

  /// The fitted growth of the file and the seconds until it reaches `quota` (nil: not within the horizon, or too
  /// few samples).
  public static func course(_ samples: [CapacitySample], quota: Int64, now: Double, settings: ForecastSettings)
    -> (trend: Trend, eta: Double)?
  {
    guard quota > 0,
      let total = Trend.fit(
        samples.map { (t: $0.at, v: Double($0.dbSize)) }, window: settings.window, now: now,
        minSamples: settings.minSamples),
      let eta = total.timeToReach(Double(quota), horizon: settings.horizon)
    else { return nil }
    return (total, eta)
  }

  /// Whether a forecast finding asks for a defragment now (the repair planner acts on it).
  public static func wantsDefragment(_ f: Finding) -> Bool {
    f.check == "quota-forecast" && f.action.hasPrefix("defragment now")
  }

  /// Leader changes per hour over the window, from the times Vigil saw them; a `leader-churn` finding when the rate
  /// reaches `perHour` (nil before the window has been watched in full).
  public static func leaderChurn(
    cluster: String, changes: [Double], watchedSince: Double, now: Double, window: Double, perHour: Int
  ) -> Finding? {
    guard now - watchedSince >= window, window > 0 else { return nil }
    let recent = changes.filter { $0 > now - window && $0 <= now }
    let rate = Double(recent.count) / (window / 3600)
    guard perHour > 0, rate >= Double(perHour) else { return nil }
    return Finding(
      check: "leader-churn", cluster: cluster, severity: .warning,
      summary: "leader changed \(recent.count) times in the last \(span(window)): \(String(format: "%.1f", rate))/h (threshold \(perHour)/h)",
      evidence: ["leader changes seen by Vigil's member probes"],
      action: "look for slow disks or an overloaded network (etcd heartbeat/election settings)")
  }

  static func span(_ seconds: Double) -> String {
    if seconds >= 3600 && seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600)) h" }
    if seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60)) m" }
    return "\(Int(seconds.rounded())) s"
  }

  static func signed(_ bytesPerHour: Double) -> String {
    (bytesPerHour < 0 ? "-" : "+") + Inspector.bytes(Int64(abs(bytesPerHour)))
  }
}
