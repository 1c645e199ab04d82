import Foundation
import Logging
import Testing
import VigilConfig
import VigilCore
import VigilDrill
import VigilOracle

/// The short suite: every built-in scenario once, against real etcd processes on test hosts, with Vigil
/// guarding from outside. Each run must pass its own verdict: detected and repaired as expected, verified
/// healthy afterwards, no acknowledged write lost, a linearizable history.
@Suite("Drill scenarios", .serialized)
struct DrillScenarioTests {
  static func runner() throws -> (DrillRunner, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-drill-\(UUID().uuidString.prefix(8))")
      .path
    let config = try ConfigLoader.parse(DrillSuite.builtInYAML)
    var logger = Logger(label: "drill-test")
    logger.logLevel = .warning
    return (DrillRunner(config: config, workDirectory: dir, logger: logger), dir)
  }

  @Test(arguments: DrillScenario.catalog.map(\.name))
  func scenarioPasses(_ name: String) async throws {
    let scenario = try #require(DrillScenario.named(name))
    let (runner, dir) = try Self.runner()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let outcome = try await runner.run(scenario, repeatIndex: 0, seed: 42)
    let run = outcome.run
    let report = DrillReportWriter.describe(run)
    print(report)
    #expect(run.problems.isEmpty, "\(report)")
    #expect(run.lostWrites.isEmpty)
    #expect(run.checker.status == .linearizable)
    #expect(run.workload.acknowledgedWrites > 50, "the workload must have written through the drill")
    #expect(!run.episodes.isEmpty)
    for e in run.episodes {
      #expect(e.healthyAt != nil)
      if scenario.expect.detected { #expect(e.detectedAt != nil) }
      if let d = scenario.expect.diagnosis { #expect(e.diagnosis == d) }
    }
    if scenario.fault == .rolling || scenario.fault == .rollingWipe { #expect(run.episodes.count == 3) }
    if scenario.fault.needsStandby {
      let sites = try #require(run.episodes.first?.sites)
      if scenario.expect.runbook == .promoteStandby {
        #expect(sites.activeAfter != sites.activeBefore)
        #expect(sites.fencedAt != nil && sites.ackedAfterFence == 0)
      } else {
        #expect(sites.differences.isEmpty && sites.comparedRevision != nil)
      }
    }
    if scenario.fault == .killVigil {
      let e = run.episodes[0]
      #expect(e.vigilStoppedAt != nil && e.vigilRestartedAt != nil)
      // The plan that was cut off is the one that finished: resumed, not started again.
      let replaced = e.repairs.filter { $0.runbook == .replaceMember && $0.state == .succeeded }
      #expect(replaced.count == 1)
      #expect((replaced.first?.startedAt ?? .infinity) < (e.vigilStoppedAt ?? 0))
    }
    if scenario.fault == .vigilChurn {
      let c = try #require(run.episodes.first?.replicas?.churn)
      #expect(c.starts > 0 && c.stops > 0 && c.samples >= 30 && c.doubleOwned == 0, "\(c)")
    } else if scenario.fault.needsReplicas {
      let r = try #require(run.episodes.first?.replicas)
      // Another replica resumed the one plan; every step ran once, those before the loss on the lost replica,
      // none of them still running when the next owner began.
      #expect(r.resumedBy != nil && r.resumedBy != r.lost && r.repeatedSteps.isEmpty && r.overlapping.isEmpty, "\(r)")
      #expect(r.steps.contains { $0.contains("remove-member") && $0.hasSuffix("@\(r.lost)") }, "\(r.steps)")
      #expect((r.lastStepAfterLoss ?? 0) <= r.leaseTTL)
      #expect(r.steps.contains { $0.contains("verify") && $0.hasSuffix("@\(r.resumedBy ?? "")") }, "\(r.steps)")
      let replaced = run.episodes[0].repairs.filter { $0.runbook == .replaceMember && $0.state == .succeeded }
      #expect(replaced.count == 1)
    }
    // The reports are written and readable.
    let out = dir + "/reports"
    try DrillReportWriter.write(outcome, to: out)
    let html = try String(contentsOfFile: "\(out)/timeline-\(name)-1.html", encoding: .utf8)
    #expect(html.contains("<svg") && html.contains(name))
    let decoded = try JSONDecoder().decode(DrillRun.self, from: Data(contentsOf: URL(fileURLWithPath: "\(out)/run-\(name)-1.json")))
    #expect(decoded == run)
  }
}
