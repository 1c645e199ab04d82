import Foundation
import VigilCore
import VigilDrill
import VigilOracle

/// A drill suite as `vigil drill run` leaves it (written by the drill's own report writer): `kill-leader`
/// run twice, the first passed (detected after 1.2 s, healthy after 4.5 s), the second failed.
enum DrillReportFixture {
  static func writeSuite(under root: String, id: String = "20261201T000000Z", startedAt started: Double = 1_796_083_200) throws {
    let dir = root + "/" + id
    var runs: [DrillRun] = []
    for (i, problems) in [[String](), ["no leader elected within 30 s"]].enumerated() {
      var episode = DrillEpisode(member: "m1", injectedAt: 2)
      episode.detectedAt = 3.2
      episode.diagnosis = .crashed
      episode.healthyAt = problems.isEmpty ? 6.5 : nil
      let run = DrillRun(
        scenario: "kill-leader", repeatIndex: i, seed: 7 + UInt64(i), startedAt: started + Double(i) * 60, endedAt: 20,
        episodes: [episode], workload: WorkloadSummary([], faultAt: 2, recoveredAt: episode.healthyAt, wholeClusterClient: "c"),
        lostWrites: [], phantomReads: 0, checker: HistoryChecker().check([]), problems: problems)
      runs.append(run)
      try DrillReportWriter.write(DrillOutcome(run: run, history: []), to: dir)
    }
    try DrillReportWriter.writeSuite(
      DrillReportWriter.SuiteReport(
        startedAt: started, seed: 7, summaries: [DrillSummary(scenario: "kill-leader", runs: runs)], runs: runs),
      to: dir)
  }
}
