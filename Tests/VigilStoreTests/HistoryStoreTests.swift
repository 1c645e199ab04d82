import Foundation
import Testing
import VigilCore
import VigilStore
import VigilTestKit

@Suite("History store (SQLite)")
struct HistoryStoreTests {
  @Test func theActiveSideOfAPairSurvivesReopening() async throws {
    try await withTemporaryDirectory { dir in
      do {
        let store = try HistoryStore(directory: dir)
        #expect(try store.activeSides().isEmpty)
        try await store.setActive(ActiveSide(cluster: "a", active: "b", fenced: "a", changedAt: 5, changedBy: "alice", planID: 7))
      }
      let store = try HistoryStore(directory: dir)
      #expect(try store.activeSides()["a"] == ActiveSide(cluster: "a", active: "b", fenced: "a", changedAt: 5, changedBy: "alice", planID: 7))
      try await store.setActive(ActiveSide(cluster: "a", active: "a", fenced: "b", changedAt: 9, changedBy: "bob", planID: 8))
      #expect(try store.activeSides()["a"]?.active == "a")
      #expect(try store.activeSides().count == 1)
    }
  }

  @Test func tokensAreStoredByHashFoundByHashAndRevokedByName() async throws {
    try await withTemporaryDirectory { dir in
      do {
        let store = try HistoryStore(directory: dir)
        #expect(try store.tokenCount() == 0)
        try await store.addToken(StoredToken(name: "ana", role: .operator, hash: "aa", createdAt: 1, createdBy: "cli"))
        await #expect(throws: TokenStoreError.self) {
          try await store.addToken(StoredToken(name: "ana", role: .admin, hash: "bb", createdAt: 2, createdBy: "cli"))
        }
      }
      let store = try HistoryStore(directory: dir)
      #expect(try store.token(hash: "aa")?.role == .operator)
      #expect(try store.token(hash: "bb") == nil)
      #expect(try store.tokens().map(\.name) == ["ana"])
      #expect(try await store.revokeToken(name: "ana"))
      #expect(try await !store.revokeToken(name: "ana"))
      #expect(try store.token(hash: "aa") == nil && store.tokenCount() == 0)
    }
  }

  @Test func everythingSurvivesReopeningAndOpenIncidentsStayOpen() async throws {
    try await withTemporaryDirectory { dir in
      do {
        let store = try HistoryStore(directory: dir)
        #expect(try store.appliedMigrations() == ["v1-history", "v2-repair", "v3-sites", "v4-tokens"])
        try await store.record(results: [
          StoredResult(at: 10, cluster: "c", subject: "c/m1", probe: "kv", ok: false, failure: "refused", latency: 0.002, message: "refused")
        ])
        try await store.record(
          transition: StoredTransition(at: 10, cluster: "c", subject: "c/m1", from: .healthy, to: .failed, evidence: ["refused"]))
        try await store.record(
          findings: [Finding(check: "alarm", cluster: "c", member: "m1", severity: .critical, summary: "NOSPACE", evidence: ["x"], action: "y")],
          at: 10)
        var book = IncidentBook()
        let opened = book.transition(
          cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .healthy, to: .failed, evidence: ["e"]), at: 10,
          lastGoodAt: 9.5)!
        try await store.save(opened)
        try await store.save(book.diagnosed(subject: "c/m1", Diagnosis(fault: .crashed, member: "m1", reason: "r"), at: 10.1)!)
      }
      let reopened = try HistoryStore(directory: dir)
      let open = try reopened.incidents(openOnly: true)
      #expect(open.count == 1)
      #expect(open[0].fault == .crashed)
      #expect(open[0].mttd == 0.5)
      #expect(open[0].timeline.map(\.kind) == ["transition", "diagnosis"])
      #expect(try reopened.transitions().first?.to == .failed)
      #expect(try reopened.latestFindings().first?.summary == "NOSPACE")
      #expect(try reopened.recentResults().first?.failure == "refused")
      // A restored book closes it when the subject is healthy again.
      var book = IncidentBook(restoring: open)
      let closed = book.transition(
        cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .unknown, to: .healthy, evidence: []), at: 20,
        lastGoodAt: 20)!
      try await reopened.save(closed)
      #expect(try reopened.incidents(openOnly: true).isEmpty)
      #expect(try reopened.incident(id: open[0].id)?.closedAt == 20)
    }
  }

  @Test func oldResultsAreFoldedIntoMinuteRollupsAndTheStoreStaysBounded() async throws {
    try await withTemporaryDirectory { dir in
      let store = try HistoryStore(directory: dir)
      // 3 minutes of results at 10/s, one failure per minute.
      var batch: [StoredResult] = []
      for i in 0..<1800 {
        let at = 6000 + Double(i) / 10
        batch.append(
          StoredResult(at: at, cluster: "c", subject: "c", probe: "kv", ok: i % 600 != 0, failure: nil, latency: 0.001 * Double(i % 7 + 1), message: ""))
      }
      try await store.record(results: batch)
      var policy = RetentionPolicy()
      policy.rawResults = .seconds(60)
      policy.maxRawResults = 1000
      // "now" is 60 s after the last result: everything is older than the raw window.
      let report = try await store.compact(now: 6000 + 180 + 60, policy: policy)
      #expect(report.rolledUp == 1800)
      let rollups = try store.rollups()
      #expect(rollups.count == 3)
      #expect(rollups.map(\.count).reduce(0, +) == 1800)
      #expect(rollups.map(\.failures).reduce(0, +) == 3)
      #expect(rollups.allSatisfy { abs($0.latencyMax - 0.007) < 1e-9 })
      #expect(try store.counts()["result"] == 0)

      // The row cap folds the oldest rows early even inside the raw window.
      try await store.record(results: batch.map { var r = $0; r.at += 100_000; return r })
      try await store.compact(now: 6000 + 100_000 + 180, policy: policy)
      #expect(try store.counts()["result"]! <= 1000)
      // Rollups past their window are dropped.
      policy.rollups = .seconds(3600)
      try await store.compact(now: 6000 + 200_000, policy: policy)
      #expect(try store.rollups().allSatisfy { $0.minute >= Int64((6000 + 200_000 - 3600) / 60) })
    }
  }
}
