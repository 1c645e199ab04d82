import Testing
import VigilCore
import VigilOracle

/// The drill report's arithmetic: phases, unavailability, verdicts, spreads.
@Suite("Drill report")
struct DrillReportTests {
  static func op(_ id: Int, _ client: String, _ t0: Double, _ t1: Double, _ outcome: OperationOutcome = .ok, write: Bool = true)
    -> RecordedOperation
  {
    RecordedOperation(
      id: id, client: client, kind: write ? .put : .get, key: "k", value: write ? "v\(id)" : nil,
      consistency: write ? nil : .linearizable, invokedAt: t0, completedAt: t1, outcome: outcome)
  }

  @Test func unavailabilityIsTheLongestGapInWholeClusterWritesAfterTheFault() {
    let history = [
      Self.op(0, "cluster", 0.0, 0.1), Self.op(1, "cluster", 0.9, 1.0),  // before the fault at 1.5
      Self.op(2, "cluster", 1.6, 2.6, .unknown), Self.op(3, "cluster", 2.7, 3.2, .failed),
      Self.op(4, "cluster", 3.3, 3.5),  // first acknowledged write after: 2.5 s after the last one before
      Self.op(5, "m1", 2.0, 2.01),  // another client's success does not count
      Self.op(6, "cluster", 3.6, 3.7), Self.op(7, "cluster", 3.8, 3.9, write: false),
    ]
    let w = WorkloadSummary(history, faultAt: 1.5, recoveredAt: 3.4, wholeClusterClient: "cluster")
    #expect(abs(w.unavailableSeconds - 2.5) < 1e-9)
    #expect(w.unavailableFrom == 1.0)
    #expect(w.ok == 6 && w.failed == 1 && w.unknown == 1)
    #expect(w.before.count == 2 && w.during.count == 2 && w.after.count == 2)
  }

  @Test func aRunFailsForEachUnmetExpectation() {
    let scenario = DrillScenario.named("kill-leader")!
    var e = DrillEpisode(member: "m1", injectedAt: 2)
    e.detectedAt = 2.3
    e.diagnosis = .hung
    e.repairs = [DrillRepair(plan: 1, runbook: .unstickMember, state: .succeeded, startedAt: 3, finishedAt: 4, steps: [])]
    let verdict = LinearizabilityVerdict(
      status: .violation, keys: 1, operations: 2, explored: 3, undecidedKeys: [], violation: nil)
    let problems = DrillRun.problems(scenario, episodes: [e], lost: 2, phantom: 0, checker: verdict)
    #expect(problems.count == 6, "\(problems)")
    #expect(problems.contains("2 acknowledged write(s) lost"))
    #expect(problems.contains { $0.contains("diagnosed hung, expected crashed") })
    #expect(problems.contains { $0.contains("no successful restart-member (ran: unstick-member succeeded)") })
    #expect(problems.contains { $0.contains("not verified healthy") })
    #expect(problems.contains { $0.contains("no new leader") })
    #expect(problems.contains { $0.contains("not linearizable") })
    e.diagnosis = .crashed
    e.repairs[0].runbook = .restartMember
    e.healthyAt = 4.5
    e.newLeader = "m2"
    let ok = LinearizabilityVerdict(status: .linearizable, keys: 1, operations: 2, explored: 3, undecidedKeys: [], violation: nil)
    #expect(DrillRun.problems(scenario, episodes: [e], lost: 0, phantom: 0, checker: ok).isEmpty)
    #expect(e.mttd! > 0.29 && e.mttd! < 0.31 && e.mttr == 2.5)
  }

  @Test func spreadsAreMinMedianMax() {
    let s = Spread([3, 1, 2, 10])
    #expect(s.min == 1 && s.median == 2 && s.max == 10 && s.count == 4)
    #expect(Spread([]).median == nil)
    #expect(LatencySummary([0.001, 0.002, 0.1]).p99 == 0.1)
  }
}
