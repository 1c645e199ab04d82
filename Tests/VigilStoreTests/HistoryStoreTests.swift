import Foundation
import Testing
import VigilCore
import VigilRuntime
import VigilStore
import VigilTestKit

/// The databases the history store runs on; every test here runs on each.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
  case sqlite, postgres
  var testDescription: String { rawValue }
}

/// Runs `body` with a fresh, empty store location of `backend` (a temporary directory, or a PostgreSQL server
/// started for the test); `open()` opens a store there, as often as the test likes (a restart, or a second
/// process sharing it).
func withStore<T: Sendable>(
  _ backend: StoreBackend, _ body: (_ open: @Sendable () async throws -> HistoryStore) async throws -> T
) async throws -> T {
  switch backend {
  case .sqlite:
    return try await withTemporaryDirectory { dir in try await body { try HistoryStore(directory: dir) } }
  case .postgres:
    return try await withPostgresServer { url in
      let address = try PostgresAddress.parse(url)
      return try await body { try await HistoryStore(postgres: address) }
    }
  }
}

/// Serialized: each PostgreSQL case starts a server of its own (initdb and all), too heavy to run side by side with
/// the rest of the batch.
@Suite("History store (SQLite and PostgreSQL)", .serialized)
struct HistoryStoreTests {
  @Test(arguments: StoreBackend.allCases) func theActiveSideOfAPairSurvivesReopening(_ backend: StoreBackend) async throws {
    try await withStore(backend) { open in
      do {
        let store = try await open()
        #expect(try await store.activeSides().isEmpty)
        try await store.setActive(ActiveSide(cluster: "a", active: "b", fenced: "a", changedAt: 5, changedBy: "alice", planID: 7))
      }
      let store = try await open()
      #expect(try await store.activeSides()["a"] == ActiveSide(cluster: "a", active: "b", fenced: "a", changedAt: 5, changedBy: "alice", planID: 7))
      try await store.setActive(ActiveSide(cluster: "a", active: "a", fenced: "b", changedAt: 9, changedBy: "bob", planID: 8))
      #expect(try await store.activeSides()["a"]?.active == "a")
      #expect(try await store.activeSides().count == 1)
    }
  }

  @Test(arguments: StoreBackend.allCases) func tokensAreStoredByHashFoundByHashAndRevokedByName(_ backend: StoreBackend) async throws {
    try await withStore(backend) { open in
      do {
        let store = try await open()
        #expect(try await store.tokenCount() == 0)
        try await store.addToken(StoredToken(name: "ana", role: .operator, hash: "aa", createdAt: 1, createdBy: "cli"))
        await #expect(throws: TokenStoreError.self) {
          try await store.addToken(StoredToken(name: "ana", role: .admin, hash: "bb", createdAt: 2, createdBy: "cli"))
        }
      }
      let store = try await open()
      #expect(try await store.token(hash: "aa")?.role == .operator)
      #expect(try await store.token(hash: "bb") == nil)
      #expect(try await store.tokens().map(\.name) == ["ana"])
      #expect(try await store.revokeToken(name: "ana"))
      #expect(try await !store.revokeToken(name: "ana"))
      #expect(try await store.token(hash: "aa") == nil)
      #expect(try await store.tokenCount() == 0)
    }
  }

  @Test(arguments: StoreBackend.allCases) func everythingSurvivesReopeningAndOpenIncidentsStayOpen(_ backend: StoreBackend) async throws {
    try await withStore(backend) { open in
      do {
        let store = try await open()
        let migrations = backend == .sqlite ? ["v1-history", "v2-repair", "v3-sites", "v4-tokens"] : ["pg1-history"]
        #expect(try await store.appliedMigrations() == migrations)
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
      let reopened = try await open()
      let stillOpen = try await reopened.incidents(openOnly: true)
      #expect(stillOpen.count == 1)
      #expect(stillOpen[0].fault == .crashed)
      #expect(stillOpen[0].mttd == 0.5)
      #expect(stillOpen[0].timeline.map(\.kind) == ["transition", "diagnosis"])
      #expect(try await reopened.transitions().first?.to == .failed)
      #expect(try await reopened.latestFindings().first?.summary == "NOSPACE")
      #expect(try await reopened.recentResults().first?.failure == "refused")
      // A restored book closes it when the subject is healthy again.
      var book = IncidentBook(restoring: stillOpen)
      let closed = book.transition(
        cluster: "c", subject: "c/m1", member: "m1", HealthTransition(from: .unknown, to: .healthy, evidence: []), at: 20,
        lastGoodAt: 20)!
      try await reopened.save(closed)
      #expect(try await reopened.incidents(openOnly: true).isEmpty)
      #expect(try await reopened.incident(id: stillOpen[0].id)?.closedAt == 20)
    }
  }

  @Test(arguments: StoreBackend.allCases) func oldResultsAreFoldedIntoMinuteRollupsAndTheStoreStaysBounded(_ backend: StoreBackend) async throws {
    try await withStore(backend) { open in
      let store = try await open()
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
      let rollups = try await store.rollups()
      #expect(rollups.count == 3)
      #expect(rollups.map(\.count).reduce(0, +) == 1800)
      #expect(rollups.map(\.failures).reduce(0, +) == 3)
      #expect(rollups.allSatisfy { abs($0.latencyMax - 0.007) < 1e-9 })
      #expect(try await store.counts()["result"] == 0)

      // The row cap folds the oldest rows early even inside the raw window.
      try await store.record(results: batch.map { var r = $0; r.at += 100_000; return r })
      try await store.compact(now: 6000 + 100_000 + 180, policy: policy)
      #expect(try await store.counts()["result"]! <= 1000)
      // Rollups past their window are dropped.
      policy.rollups = .seconds(3600)
      try await store.compact(now: 6000 + 200_000, policy: policy)
      #expect(try await store.rollups().allSatisfy { $0.minute >= Int64((6000 + 200_000 - 3600) / 60) })
    }
  }

  @Test(arguments: StoreBackend.allCases) func theJournalAndTheAuditChainSurviveReopening(_ backend: StoreBackend) async throws {
    try await withStore(backend) { open in
      let planID: Int64
      do {
        let store = try await open()
        var plan = try await store.insert(
          plan: RepairPlan(
            cluster: "c", member: "m2", runbook: .replaceMember, fault: .dataLoss, reason: "wiped", incidentID: 4,
            requestedBy: "vigil", state: .running, at: 100, steps: [PlanStep(.snapshot), PlanStep(.remove, member: "m2")]))
        #expect(plan.id > 0)
        planID = plan.id
        plan.steps[0].state = .done
        plan.steps[0].detail = "revision 41"
        plan.context["snapshot"] = "/tmp/s"
        try await store.update(plan: plan)
        for (i, action) in ["planned", "step-started", "step-done"].enumerated() {
          try await store.append(
            audit: AuditEntry(
              at: 100 + Double(i), actor: "vigil", action: action, cluster: "c", subject: "c/m2", planID: plan.id,
              runbook: "replace-member", step: i > 0 ? "snapshot" : nil, inputs: "{}", result: "ok", reason: "wiped"))
        }
        try await store.setPaused(cluster: "d", true, by: "ana", at: 101)
      }
      let store = try await open()
      let plan = try #require(try await store.plan(id: planID))
      #expect(plan.state == .running && plan.member == "m2" && plan.fault == .dataLoss && plan.incidentID == 4)
      #expect(plan.steps.map(\.state) == [.done, .pending] && plan.steps[0].detail == "revision 41")
      #expect(plan.context == ["snapshot": "/tmp/s"])
      #expect(try await store.plans(cluster: "c", states: [.running, .ready]).map(\.id) == [planID])
      #expect(try await store.plans(cluster: "c", states: [.succeeded]).isEmpty)
      #expect(try await store.pausedClusters() == ["d"])
      let audit = try await store.audit(planID: planID, ascending: true)
      #expect(audit.map(\.action) == ["planned", "step-started", "step-done"])
      #expect(audit.map(\.seq) == [1, 2, 3] && audit[1].prevHash == audit[0].hash && audit[0].step == nil)
      let verification = try await store.verifyAudit()
      #expect(verification.ok && verification.entries == 3, "\(verification)")
    }
  }

  /// Two processes on one store (replicas): what one writes the other reads, and audit entries appended by both at
  /// once form one unbroken chain.
  @Test(arguments: StoreBackend.allCases) func twoProcessesShareOneStoreAndOneAuditChain(_ backend: StoreBackend) async throws {
    try await withStore(backend) { open in
      let a = try await open()
      let b = try await open()
      let plan = try await a.insert(
        plan: RepairPlan(
          cluster: "c", member: "m1", runbook: .restartMember, fault: .crashed, reason: "r", incidentID: nil,
          requestedBy: "vigil", state: .running, at: 1, steps: [PlanStep(.start, member: "m1")]))
      #expect(try await b.plan(id: plan.id)?.runbook == .restartMember)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for (name, store) in [("a", a), ("b", b)] {
          group.addTask {
            for i in 0..<40 {
              try await store.append(audit: AuditEntry(at: Double(i), actor: name, action: "step-done", cluster: "c"))
            }
          }
        }
        try await group.waitForAll()
      }
      let verification = try await b.verifyAudit()
      #expect(verification.ok && verification.entries == 80, "\(verification)")
      #expect(Set(try await a.audit(limit: 100).map(\.actor)) == ["a", "b"])
    }
  }

  /// PostgreSQL: replicas opening incidents side by side draw their ids from blocks no other process is given.
  @Test func postgresHandsEachProcessItsOwnBlockOfIncidentIDs() async throws {
    try await withStore(.postgres) { open in
      let a = try await open()
      let b = try await open()
      let first = try await a.nextIncidentID()
      let second = try await b.nextIncidentID()
      #expect(first != second && abs(first - second) >= 1 << 20)
      var bookA = IncidentBook(nextID: first)
      var bookB = IncidentBook(nextID: second)
      let transition = HealthTransition(from: .healthy, to: .failed, evidence: ["e"])
      try await a.save(bookA.transition(cluster: "x", subject: "x", member: nil, transition, at: 1, lastGoodAt: 1)!)
      try await b.save(bookB.transition(cluster: "y", subject: "y", member: nil, transition, at: 1, lastGoodAt: 1)!)
      #expect(Set(try await a.incidents(openOnly: true).map(\.cluster)) == ["x", "y"])
      // A restart takes a new block.
      #expect(try await open().nextIncidentID() > max(first, second))
    }
  }

  /// PostgreSQL: an address nobody answers at is named, without its password, and nothing hangs.
  @Test func postgresThatDoesNotAnswerIsNamed() async throws {
    let port = try FreePort.pick(count: 1)[0]
    let address = try PostgresAddress.parse("postgresql://vigil:secret@127.0.0.1:\(port)/vigil")
    do {
      _ = try await HistoryStore(postgres: address)
      Issue.record("opened a store where no server listens")
    } catch {
      let message = "\(error)"
      #expect(message.contains("127.0.0.1:\(port)") && !message.contains("secret"), "\(message)")
    }
  }
}
