import Foundation
import Logging
import VigilConfig
import VigilCore
import VigilOracle

/// Runs scenarios with repeats, writes every run's report as it ends and the summary at the end.
public struct DrillSuite: Sendable {
  public var runner: DrillRunner
  public var outputDirectory: String
  /// Where each run's line-by-line report goes (stdout for the CLI).
  public var say: @Sendable (String) -> Void

  public init(runner: DrillRunner, outputDirectory: String, say: @escaping @Sendable (String) -> Void) {
    self.runner = runner
    self.outputDirectory = outputDirectory
    self.say = say
  }

  /// The built-in configuration: one local 3-member cluster at P0, marked drill-allowed.
  public static let builtInYAML = """
    stateDir: ./vigil-drill-state
    inspections: {interval: 5s}
    scheduler: {membershipInterval: 500ms}
    clusters:
      - name: drill
        runtime: {kind: local, members: 3}
        tier: P0
        probeSuites: [etcd]
        drillAllowed: true
    probeSuites:
      - name: etcd
        probes:
          - kind: etcd.kv
          - kind: etcd.member
    """

  /// Runs each scenario `repeats` times; run i of a scenario uses seed `seed + i`.
  public func run(_ scenarios: [DrillScenario], repeats: Int, seed: UInt64) async throws -> DrillReportWriter.SuiteReport {
    let started = Date().timeIntervalSince1970
    var runs: [DrillRun] = []
    var summaries: [DrillSummary] = []
    for scenario in scenarios {
      var mine: [DrillRun] = []
      for i in 0..<repeats {
        let outcome = try await runner.run(scenario, repeatIndex: i, seed: seed &+ UInt64(i))
        try DrillReportWriter.write(outcome, to: outputDirectory)
        say(DrillReportWriter.describe(outcome.run))
        mine.append(outcome.run)
      }
      runs += mine
      summaries.append(DrillSummary(scenario: scenario.name, runs: mine))
    }
    let report = DrillReportWriter.SuiteReport(startedAt: started, seed: seed, summaries: summaries, runs: runs)
    try DrillReportWriter.writeSuite(report, to: outputDirectory)
    return report
  }
}
