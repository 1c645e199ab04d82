import Foundation
import VigilOracle

/// The drill reports `vigil drill run --out DIR/SUITE` wrote under `api.drillReports` (default `vigil-drills`,
/// the drill command's own default), for the API and the dashboard: each suite's summaries, its runs and their
/// HTML timelines. Only names the drill writer makes are served; nothing outside the directory is reachable.
public struct DrillReports: Sendable {
  public let root: String

  public init(root: String) { self.root = root }

  /// One suite (one `vigil drill run`): when, the seed, each scenario's summary, each run.
  public struct Suite: Sendable, Codable, Hashable {
    public var id: String
    public var startedAt: Double
    public var seed: UInt64
    public var summaries: [DrillSummary]
    public var runs: [Run]
  }

  public struct Run: Sendable, Codable, Hashable {
    public var scenario: String
    /// 1-based.
    public var number: Int
    public var startedAt: Double
    public var passed: Bool
    /// Why it failed (empty: passed).
    public var problems: [String]
    /// `/v1/drills/SUITE/timeline-SCENARIO-N.html`, when the timeline is there.
    public var timeline: String?
  }

  /// What `report.json` holds that the listing needs (the writer's `SuiteReport` has more).
  struct Stored: Decodable {
    struct StoredRun: Decodable {
      var scenario: String
      var repeatIndex: Int
      var startedAt: Double
      var problems: [String]
    }
    var startedAt: Double
    var seed: UInt64
    var summaries: [DrillSummary]
    var runs: [StoredRun]
  }

  /// Suites newest first (at most `limit`); a directory without a readable `report.json` is left out.
  public func suites(limit: Int) -> [Suite] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    var out: [Suite] = []
    for name in names where Self.validSuite(name) {
      let dir = (root as NSString).appendingPathComponent(name)
      guard let data = FileManager.default.contents(atPath: dir + "/report.json"),
        let stored = try? JSONDecoder().decode(Stored.self, from: data)
      else { continue }
      let runs = stored.runs.map { r in
        let file = "timeline-\(r.scenario)-\(r.repeatIndex + 1).html"
        return Run(
          scenario: r.scenario, number: r.repeatIndex + 1, startedAt: r.startedAt, passed: r.problems.isEmpty, problems: r.problems,
          timeline: FileManager.default.fileExists(atPath: dir + "/" + file) ? "/v1/drills/\(name)/\(file)" : nil)
      }
      out.append(Suite(id: name, startedAt: stored.startedAt, seed: stored.seed, summaries: stored.summaries, runs: runs))
    }
    return Array(out.sorted { ($0.startedAt, $0.id) > ($1.startedAt, $1.id) }.prefix(limit))
  }

  /// A file of a suite: its bytes and media type; nil when there is no such file.
  public func file(suite: String, name: String) -> (data: Data, contentType: String)? {
    guard Self.validSuite(suite), let type = Self.contentType(name) else { return nil }
    let path = (root as NSString).appendingPathComponent(suite) + "/" + name
    return FileManager.default.contents(atPath: path).map { ($0, type) }
  }

  /// A suite directory's name: letters, digits, `.`, `_`, `-`; not starting with `.`.
  static func validSuite(_ name: String) -> Bool {
    !name.isEmpty && name.count <= 200 && !name.hasPrefix(".")
      && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) }
  }

  /// The media type of a file the drill writer makes (`report.json`, `report.txt`, `run-*.json`,
  /// `history-*.json`, `timeline-*.html`); nil for any other name.
  static func contentType(_ name: String) -> String? {
    guard validSuite(name) else { return nil }
    if name == "report.json" { return "application/json" }
    if name == "report.txt" { return "text/plain; charset=utf-8" }
    if (name.hasPrefix("run-") || name.hasPrefix("history-")) && name.hasSuffix(".json") { return "application/json" }
    if name.hasPrefix("timeline-") && name.hasSuffix(".html") { return "text/html; charset=utf-8" }
    return nil
  }
}
