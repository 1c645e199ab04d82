import Foundation
import Testing
import VigilProbes

/// An exec probe's report, as posted to `vigil serve`: what is refused, by name, instead of crashing.
@Suite("Probe reports")
struct ProbeReportTests {
  func problem(_ json: String) -> String? {
    do {
      _ = try ProbeReport.decode(Data(json.utf8))
      return nil
    } catch {
      return error.message
    }
  }

  @Test func aReportWithStepsDecodes() throws {
    let report = try ProbeReport.decode(Data(#"{"status": "OK", "steps": [{"name": "login", "seconds": 0.25, "ok": true}]}"#.utf8))
    #expect(report.steps.map(\.name) == ["login"])
    #expect(report.steps.first?.latency == .milliseconds(250))
  }

  // On Linux, Foundation's untyped JSON gave 0 and 1 as booleans: a metric of 0 was refused, `true` taken.
  @Test func metricsOfZeroAndOneAreNumbersAndBooleansAreNot() throws {
    let report = try ProbeReport.decode(Data(#"{"status": "OK", "metrics": {"zero": 0, "one": 1, "half": 0.5}}"#.utf8))
    #expect(report.metrics == ["zero": 0, "one": 1, "half": 0.5])
    #expect(problem(#"{"status": "OK", "metrics": {"up": true}}"#)?.contains("metrics.up") == true)
    #expect(problem(#"{"status": "OK", "steps": [{"name": "s", "seconds": 1, "ok": 1}]}"#)?.contains("steps[0].ok") == true)
  }

  // Found by schemathesis: a step of 1e300 seconds crashed the server converting it to a Duration.
  @Test(arguments: ["1e300", "-1", "86401", "\"fast\"", "true"])
  func aStepLatencyOutOfRangeIsRefusedByName(_ seconds: String) {
    let said = problem(#"{"status": "OK", "steps": [{"name": "s", "seconds": \#(seconds)}]}"#)
    #expect(said?.contains("steps[0].seconds") == true, "\(said ?? "accepted")")
  }
}
