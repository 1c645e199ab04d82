import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilMonitor
import VigilRuntime
import VigilServer
import VigilTestKit

/// The dashboard in a real browser: headless Chromium (Debian's `chromium`) loads each page of a live
/// `vigil serve` guarding a real cluster, and the test reads the DOM it rendered: a killed member shows
/// failed, then healthy once it is back; drill reports and their timelines; with tokens in force the page asks for one and shows nothing
/// without it.
@Suite("Dashboard in Chromium", .serialized)
struct DashboardBrowserTests {
  static let chromium = "/usr/bin/chromium"

  /// The DOM Chromium rendered for `url` after `budget` of virtual time (its scripts ran, its fetches answered).
  static func dom(_ url: String, budget: Int = 4000, screenshot: String? = nil) async throws -> String {
    guard FileManager.default.isExecutableFile(atPath: chromium) else {
      throw TestTimeout("\(chromium) is missing (scripts/bootstrap installs it)")
    }
    var args = [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
      "--user-data-dir=\(NSTemporaryDirectory())vigil-chromium-\(UUID().uuidString.prefix(8))",
      "--virtual-time-budget=\(budget)", "--window-size=1280,900",
    ]
    if let screenshot { args.append("--screenshot=\(screenshot)") } else { args.append("--dump-dom") }
    args.append(url)
    let result = try await ChildProcess.run(chromium, args, timeout: .seconds(60))
    guard result.status == 0 else { throw TestTimeout("chromium exited \(result.status): \(result.stderr.suffix(1500))") }
    return result.stdout
  }

  static func memberRow(_ dom: String, _ member: String) -> String? {
    guard let start = dom.range(of: "data-member=\"\(member)\"") else { return nil }
    let rest = dom[start.upperBound...]
    return String(rest[..<(rest.range(of: "</tr>")?.lowerBound ?? rest.endIndex)])
  }

  @Test func aKilledMemberShowsFailedThenHealthyInTheBrowser() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        try DrillReportFixture.writeSuite(under: dir + "/drills")
        let config = try await LiveServe.configuration(cluster, dir: dir, extra: "api: {drillReports: \(dir)/drills}")
        try await LiveServe.run(config) { url, monitor in
          #expect(try await eventually(timeout: .seconds(60)) { await monitor.health(of: "c/m2") == .healthy })
          let page = try await Self.dom(url + "/#/cluster/c")
          #expect(Self.memberRow(page, "m2")?.contains("data-health=\"healthy\"") == true, "\(page.prefix(3000))")
          // Every voter healthy on the fleet page (on a loaded machine a probe of another member may time out
          // for a round: the page shows what Vigil's status says at that moment).
          var fleet = ""
          #expect(
            try await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
              fleet = try await Self.dom(url + "/#/")
              return fleet.contains("data-cluster=\"c\"") && fleet.contains("3/3 (quorum 2)")
            }, "\(fleet.prefix(3000))")

          try await cluster.kill("m2")
          #expect(try await eventually(timeout: .seconds(60)) { await monitor.health(of: "c/m2") == .failed })
          // What the page shows follows Vigil's status (the diagnosis may come a probe round after the health).
          var failedRow = ""
          let shownFailed = try await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
            failedRow = Self.memberRow(try await Self.dom(url + "/#/cluster/c"), "m2") ?? ""
            return failedRow.contains("data-health=\"failed\"") && failedRow.contains("crashed")
          }
          #expect(shownFailed, "\(failedRow)")
          // The incident page, the repairs page and the audit (an external cluster: restart-member needs a runtime
          // driver, so Vigil escalated it — the audit says so).
          let incident = try #require(try await monitor.store.incidents(openOnly: true, cluster: "c", limit: 5).first { $0.member == "m2" })
          #expect(
            try await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
              let incidentPage = try await Self.dom(url + "/#/incident/\(incident.id)")
              return incidentPage.contains("Incident #\(incident.id)") && incidentPage.contains("crashed")
            })
          let repairs = try await Self.dom(url + "/#/repairs")
          #expect(repairs.contains("<h1>Repairs</h1>"), "\(repairs.prefix(3000))")
          #expect(try await eventually { (try? await monitor.store.audit(cluster: "c", limit: 10))?.contains { $0.action == "escalated" } == true })
          #expect(
            try await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
              let audit = try await Self.dom(url + "/#/audit")
              return audit.contains("hash chain intact") && audit.contains("escalated")
            })
          // The drill reports: each scenario's summary, and a run's timeline in the page.
          let drills = try await Self.dom(url + "/#/drills")
          #expect(drills.contains("data-scenario=\"kill-leader\"") && drills.contains(">1/2<"), "\(drills.prefix(3000))")
          #expect(drills.contains("data-run=\"kill-leader-2\""))
          let timeline = try await Self.dom(url + "/#/drill/20261201T000000Z/timeline-kill-leader-1.html")
          #expect(timeline.contains("id=\"timeline\"") && timeline.contains("&lt;svg"), "\(timeline.prefix(3000))")

          try await cluster.start("m2")
          #expect(try await eventually(timeout: .seconds(60)) { await monitor.health(of: "c/m2") == .healthy })
          #expect(
            try await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
              Self.memberRow(try await Self.dom(url + "/#/cluster/c"), "m2")?.contains("data-health=\"healthy\"") == true
            })

          // With a token in force the page shows nothing without one, and everything with it.
          let made = try await TokenMaker.make(name: "viewer", role: "viewer", by: "test", store: monitor.store)
          let locked = try await Self.dom(url + "/#/cluster/c")
          #expect(locked.contains("needs a token") && Self.memberRow(locked, "m2") == nil)
          #expect(
            try await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
              try await Self.dom(url + "/#token=\(made.token)").contains("data-cluster=\"c\"")
            })
        }
      }
    }
  }
}
