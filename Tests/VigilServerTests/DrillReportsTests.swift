import Foundation
import Testing
import VigilServer
import VigilTestKit

/// The drill reports the API serves: the suites a drill wrote, newest first, and only the files it writes.
@Suite("Drill reports for the API")
struct DrillReportsTests {
  @Test func suitesAreListedNewestFirstWithTheirTimelines() async throws {
    try await withTemporaryDirectory { dir in
      try DrillReportFixture.writeSuite(under: dir, id: "newer", startedAt: 2_000)
      try DrillReportFixture.writeSuite(under: dir, id: "older", startedAt: 1_000)
      try FileManager.default.createDirectory(atPath: dir + "/not-a-suite", withIntermediateDirectories: true)
      let reports = DrillReports(root: dir)
      let suites = reports.suites(limit: 10)
      #expect(suites.map(\.id) == ["newer", "older"])
      let suite = try #require(suites.first)
      #expect(suite.summaries.map(\.passed) == [1] && suite.summaries.map(\.runs) == [2])
      #expect(suite.runs.map(\.passed) == [true, false])
      #expect(suite.runs.first?.timeline == "/v1/drills/newer/timeline-kill-leader-1.html")
      #expect(reports.suites(limit: 1).count == 1)
      let timeline = try #require(reports.file(suite: "newer", name: "timeline-kill-leader-1.html"))
      #expect(String(decoding: timeline.data, as: UTF8.self).contains("<svg") && timeline.contentType.hasPrefix("text/html"))
      #expect(DrillReports(root: dir + "/missing").suites(limit: 10).isEmpty)
    }
  }

  @Test(arguments: ["..", ".hidden", "a/b", "report.sh", "timeline-x.js", "run-x.txt", "", "../report.json"])
  func onlyTheWritersFileNamesAreServed(_ name: String) async throws {
    try await withTemporaryDirectory { dir in
      try DrillReportFixture.writeSuite(under: dir, id: "s")
      #expect(DrillReports(root: dir).file(suite: "s", name: name) == nil)
      #expect(DrillReports(root: dir).file(suite: name, name: "report.json") == nil)
    }
  }
}
