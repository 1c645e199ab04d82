import Foundation
import VigilCore
import VigilOracle

/// Writes drill results: JSON (runs, summaries, histories), a table for people, and a self-contained HTML
/// timeline per run (fault, detection, repair steps and client latency on one time axis).
public enum DrillReportWriter {
  public struct SuiteReport: Codable, Sendable {
    public var startedAt: Double
    public var seed: UInt64
    public var summaries: [DrillSummary]
    public var runs: [DrillRun]

    public init(startedAt: Double, seed: UInt64, summaries: [DrillSummary], runs: [DrillRun]) {
      self.startedAt = startedAt
      self.seed = seed
      self.summaries = summaries
      self.runs = runs
    }
  }

  /// Writes `run-NAME-N.json`, `history-NAME-N.json` and `timeline-NAME-N.html` under `directory`.
  public static func write(_ outcome: DrillOutcome, to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let base = "\(outcome.run.scenario)-\(outcome.run.repeatIndex + 1)"
    try json(outcome.run).write(to: URL(fileURLWithPath: "\(directory)/run-\(base).json"))
    try json(outcome.history).write(to: URL(fileURLWithPath: "\(directory)/history-\(base).json"))
    try Data(timeline(outcome).utf8).write(to: URL(fileURLWithPath: "\(directory)/timeline-\(base).html"))
  }

  public static func writeSuite(_ report: SuiteReport, to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try json(report).write(to: URL(fileURLWithPath: "\(directory)/report.json"))
    try Data(table(report.summaries).utf8).write(to: URL(fileURLWithPath: "\(directory)/report.txt"))
  }

  static func json(_ value: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try encoder.encode(value)
  }

  static func s(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "-" }
  static func ms(_ v: Double?) -> String { v.map { String(format: "%.1f", $0 * 1000) } ?? "-" }

  /// One run as lines for a person.
  public static func describe(_ run: DrillRun) -> String {
    var lines = ["\(run.scenario) #\(run.repeatIndex + 1) (seed \(run.seed)): \(run.passed ? "PASS" : "FAIL")"]
    for e in run.episodes {
      var parts = ["  fault \(e.member ?? "cluster") at \(s(e.injectedAt)) s"]
      parts.append("detected \(e.mttd.map { "+\(s($0)) s (\(e.diagnosis?.rawValue ?? "?"))" } ?? "no")")
      if let u = e.undoneAt { parts.append("undone at \(s(u)) s") }
      for r in e.repairs {
        parts.append("\(r.runbook.rawValue) \(r.state.rawValue) \(s(r.startedAt))–\(s(r.finishedAt)) s")
      }
      if let r = e.replicas, let v = e.vigilStoppedAt {
        parts.append(
          "replica \(r.lost) \(r.cutOff ? "cut off from the management etcd" : "killed") at \(s(v)) s, its last step ended \(r.lastStepAfterLoss.map { "\(s($0)) s after" } ?? "before"), the cluster guarded by another at \(s(r.takenOverAt)) s, plan resumed by \(r.resumedBy ?? "nobody")")
      } else if let v = e.vigilStoppedAt {
        parts.append("Vigil stopped at \(s(v)) s, restarted at \(s(e.vigilRestartedAt)) s")
      }
      if let l = e.newLeader { parts.append("new leader \(l)") }
      if let d = e.oldLeaderSteppedDown { parts.append("old leader stepped down: \(d ? "yes" : "no")") }
      parts.append("healthy \(e.mttr.map { "+\(s($0)) s" } ?? "never")")
      lines.append(parts.joined(separator: "; "))
      if let x = e.sites { lines.append(describe(x)) }
      if let c = e.replicas?.churn {
        lines.append(
          "  churn: \(c.starts) replica(s) started, \(c.stops) stopped, \(c.fewest)–\(c.most) live; \(c.samples) samples: a shard owned twice \(c.doubleOwned) time(s); without a live owner \(c.unowned) shard-sample(s), longest \(s(c.longestUnowned)) s"
        )
      } else if let r = e.replicas {
        lines.append("  steps (where each ran): \(r.steps.joined(separator: ", "))")
        if !r.repeatedSteps.isEmpty { lines.append("  steps run twice or on two replicas: \(r.repeatedSteps.joined(separator: "; "))") }
      }
    }
    let w = run.workload
    lines.append(
      "  workload: \(w.operations) ops (\(w.ok) ok, \(w.failed) failed, \(w.unknown) unknown), \(w.acknowledgedWrites) acknowledged writes; unavailable \(s(w.unavailableSeconds)) s"
    )
    lines.append(
      "  latency p50/p99 ms: before \(ms(w.before.p50))/\(ms(w.before.p99)), during \(ms(w.during.p50))/\(ms(w.during.p99)), after \(ms(w.after.p50))/\(ms(w.after.p99))"
    )
    lines.append(
      "  lost acknowledged writes: \(run.lostWrites.count); checker: \(run.checker.status.rawValue) (\(run.checker.operations) ops on \(run.checker.keys) keys, \(run.checker.explored) states)"
    )
    if let v = run.checker.violation { lines += v.lines.map { "    " + $0 } }
    for p in run.problems { lines.append("  problem: \(p)") }
    return lines.joined(separator: "\n")
  }

  static func describe(_ x: SiteObservation) -> String {
    var parts = ["  sites: \(x.activeBefore) → \(x.activeAfter ?? "?")"]
    if let f = x.fencedAt {
      parts.append("fenced at \(s(f)) s; RPO \(x.rpoRevisions.map(String.init) ?? "?") revision(s)")
      parts.append("acknowledged after the fence and lost: \(x.ackedAfterFence)")
      parts.append("old side rebuilt as the standby \(x.standbyRebuiltAt.map { "at \(s($0)) s" } ?? "never")")
    }
    if x.maxLagSeconds > 0 || x.maxLagRevisions > 0 {
      parts.append(
        "lag up to \(s(x.maxLagSeconds)) s / \(x.maxLagRevisions) revision(s), standby-lag finding \(x.lagFinding ? "raised" : "not raised")")
    }
    if let r = x.comparedRevision {
      parts.append(
        "standby compared at revision \(r) (\(x.comparedKeys ?? 0) keys): \(x.differences.isEmpty ? "exact" : "\(x.differences.count) difference(s)")")
    }
    if let seeds = x.seedsAfter { parts.append("seedings after the restart: \(seeds)") }
    return parts.joined(separator: "; ")
  }

  /// The suite table: a row per scenario, min / median / max over repeats.
  public static func table(_ summaries: [DrillSummary]) -> String {
    let header = [
      "SCENARIO", "RUNS", "PASS", "MTTD s (min/med/max)", "MTTR s (min/med/max)", "UNAVAIL s (min/med/max)", "LOST",
      "LIN. VIOL.", "UNDECIDED", "ERR/UNKNOWN",
    ]
    var rows = [header]
    for x in summaries {
      rows.append([
        x.scenario, "\(x.runs)", "\(x.passed)", spread(x.mttd), spread(x.mttr), spread(x.unavailable), "\(x.lostWrites)",
        "\(x.violations)", "\(x.undecided)", "\(x.errors)/\(x.unknowns)",
      ])
    }
    let widths = header.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
    return rows.map { row in
      row.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
        .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n") + "\n"
  }

  static func spread(_ x: Spread) -> String { x.count == 0 ? "-" : "\(s(x.min)) / \(s(x.median)) / \(s(x.max))" }

  // MARK: timeline

  /// A self-contained HTML page: an SVG with the run's events above and every operation's latency below.
  public static func timeline(_ outcome: DrillOutcome) -> String {
    let run = outcome.run
    let end = max(outcome.history.map(\.completedAt).max() ?? 1, run.episodes.compactMap(\.healthyAt).max() ?? 0) + 0.5
    let width = 1100.0
    let left = 60.0
    let plotWidth = width - left - 20
    let maxLatency = 1.2
    let repairs = run.episodes.flatMap(\.repairs)
    let stepRows = repairs.flatMap(\.steps).count
    let eventsTop = 30.0
    let latencyTop = eventsTop + 40 + Double(max(stepRows, 1)) * 14
    let latencyHeight = 260.0
    let height = latencyTop + latencyHeight + 50
    func x(_ t: Double) -> Double { left + max(0, min(t, end)) / end * plotWidth }
    func y(_ latency: Double) -> Double { latencyTop + latencyHeight - min(latency, maxLatency) / maxLatency * latencyHeight }
    var svg: [String] = []
    // Time axis.
    let tick = end > 60 ? 10.0 : end > 20 ? 5.0 : 1.0
    var t = 0.0
    while t <= end {
      svg.append(
        "<line x1='\(x(t))' y1='\(eventsTop)' x2='\(x(t))' y2='\(latencyTop + latencyHeight)' stroke='#eee'/><text x='\(x(t))' y='\(latencyTop + latencyHeight + 15)' font-size='10' text-anchor='middle'>\(Int(t))s</text>"
      )
      t += tick
    }
    for l in stride(from: 0.0, through: maxLatency, by: 0.2) {
      svg.append(
        "<text x='\(left - 5)' y='\(y(l) + 3)' font-size='10' text-anchor='end'>\(Int(l * 1000))ms</text><line x1='\(left)' y1='\(y(l))' x2='\(left + plotWidth)' y2='\(y(l))' stroke='#f3f3f3'/>"
      )
    }
    // Events.
    func mark(_ t: Double?, _ color: String, _ label: String, row: Int) {
      guard let t else { return }
      svg.append(
        "<line x1='\(x(t))' y1='\(eventsTop)' x2='\(x(t))' y2='\(latencyTop + latencyHeight)' stroke='\(color)' stroke-width='1.5' stroke-dasharray='4 2'/><text x='\(x(t) + 3)' y='\(eventsTop + 10 + Double(row) * 11)' font-size='10' fill='\(color)'>\(escape(label))</text>"
      )
    }
    for e in run.episodes {
      mark(e.injectedAt, "#c00", "fault \(e.member ?? "cluster")", row: 0)
      mark(e.detectedAt, "#80c", "detected \(e.diagnosis?.rawValue ?? "")", row: 1)
      mark(e.undoneAt, "#e80", "undone", row: 2)
      mark(e.vigilStoppedAt, "#555", "Vigil stopped", row: 2)
      mark(e.vigilRestartedAt, "#555", "Vigil started", row: 3)
      mark(e.healthyAt, "#080", "healthy", row: 0)
    }
    var row = 0
    for r in repairs {
      for step in r.steps {
        let top = eventsTop + 40 + Double(row) * 14
        if let a = step.startedAt {
          let b = step.finishedAt ?? a
          svg.append(
            "<rect x='\(x(a))' y='\(top)' width='\(max(2, x(b) - x(a)))' height='10' fill='#36c'><title>\(escape("plan \(r.plan) \(r.runbook.rawValue): \(step.label) \(step.state)"))</title></rect>"
          )
        }
        svg.append(
          "<text x='\(x(step.finishedAt ?? step.startedAt ?? r.startedAt) + 4)' y='\(top + 9)' font-size='9' fill='#36c'>\(escape(step.label))</text>"
        )
        row += 1
      }
    }
    // Operations.
    for op in outcome.history where op.client != "final" {
      let color = op.outcome == .ok ? (op.isWrite ? "#2a2" : "#29c") : op.outcome == .failed ? "#d22" : "#f90"
      let latency = op.outcome == .unknown ? maxLatency : op.latency
      svg.append("<circle cx='\(x(op.invokedAt))' cy='\(y(latency))' r='1.6' fill='\(color)'/>")
    }
    let title = "\(run.scenario) #\(run.repeatIndex + 1): \(run.passed ? "PASS" : "FAIL")"
    return """
      <!doctype html>
      <html><head><meta charset="utf-8"><title>\(escape(title))</title>
      <style>body{font-family:sans-serif;margin:20px} pre{background:#f7f7f7;padding:10px}</style></head>
      <body><h2>Vigil drill — \(escape(title))</h2>
      <p>Top: fault (red), detection (purple), drill undoing the fault (orange), repair steps (blue bars), cluster verified healthy (green).
      Below: each client operation at its invoke time and latency — green writes, blue reads, red failed, orange unknown (drawn at the top).</p>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" style="border:1px solid #ddd">
      \(svg.joined(separator: "\n"))
      </svg>
      <pre>\(escape(describe(run)))</pre>
      </body></html>
      """
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "'", with: "&#39;")
  }
}
