import Testing
import VigilCore
import VigilOracle

/// The standby-site drills' own checks, as pure logic: the content comparison and the verdict.
@Suite("Site drill verdicts")
struct SiteDrillVerdictTests {
  static func key(_ k: String, _ v: String, create: Int64, mod: Int64, version: Int64 = 1, lease: Int64 = 0) -> StoredKey {
    StoredKey(key: k, value: v, createRevision: create, modRevision: mod, version: version, lease: lease)
  }

  @Test func aStandbyHoldingThePrimarysContentHasNoDifferences() {
    let primary = [Self.key("/a", "1", create: 10, mod: 12, version: 2), Self.key("/b", "2", create: 11, mod: 11, lease: 7)]
    let standby = [Self.key("/a", "1", create: 1010, mod: 1015, version: 2), Self.key("/b", "2", create: 1013, mod: 1013, lease: 7)]
    #expect(MirrorComparison.differences(primary: primary, standby: standby, since: 5).isEmpty)
  }

  @Test func gapsLeftoverDeletesDuplicatesAndLeasesAreEachNamed() {
    let primary = [
      Self.key("/gap", "x", create: 20, mod: 20),
      Self.key("/dup", "y", create: 21, mod: 22, version: 2),
      Self.key("/lease", "z", create: 23, mod: 23, lease: 9),
      Self.key("/behind", "w", create: 24, mod: 24),
    ]
    let standby = [
      Self.key("/deleted", "old", create: 1001, mod: 1001),
      Self.key("/dup", "y", create: 1021, mod: 1023, version: 3),
      Self.key("/lease", "z", create: 1023, mod: 1023, lease: 0),
      Self.key("/behind", "w", create: 24, mod: 24),
    ]
    let d = MirrorComparison.differences(primary: primary, standby: standby, since: 5)
    #expect(d.count == 5, "\(d)")
    #expect(d.contains { $0.hasPrefix("/gap: missing on the standby") })
    #expect(d.contains { $0.hasPrefix("/deleted: only on the standby") })
    #expect(d.contains { $0.hasPrefix("/dup: version 2 ≠ 3") })
    #expect(d.contains { $0.hasPrefix("/lease: lease 9 ≠ 0") })
    #expect(d.contains { $0.hasPrefix("/behind: mod revision 24 not ahead of 24") })
  }

  @Test func keysCopiedBySeedingAreComparedByValueNotByHistory() {
    // Created before the mirror followed change by change: the seed wrote it once (version 1).
    let primary = [Self.key("/old", "v", create: 3, mod: 4, version: 5)]
    let standby = [Self.key("/old", "v", create: 1002, mod: 1002, version: 1)]
    #expect(MirrorComparison.differences(primary: primary, standby: standby, since: 5).isEmpty)
    #expect(MirrorComparison.differences(primary: primary, standby: [Self.key("/old", "u", create: 1002, mod: 1002)], since: 5).count == 1)
  }

  static let linearizable = LinearizabilityVerdict(
    status: .linearizable, keys: 1, operations: 1, explored: 1, undecidedKeys: [], violation: nil)

  static func failedOver() -> DrillEpisode {
    var e = DrillEpisode(member: nil, injectedAt: 2)
    e.detectedAt = 3
    e.healthyAt = 9
    e.repairs = [DrillRepair(plan: 1, runbook: .promoteStandby, state: .succeeded, startedAt: 7, finishedAt: 8, steps: [])]
    var s = SiteObservation(activeBefore: "a")
    s.activeAfter = "a-dr"
    s.fencedAt = 7.5
    s.standbyRebuiltAt = 20
    e.sites = s
    return e
  }

  @Test func aFailoverPassesOnlyWithTheSwitchTheFenceNoSplitBrainAndTheStandbyRebuilt() {
    let scenario = DrillScenario.named("site-loss")!
    #expect(DrillRun.problems(scenario, episodes: [Self.failedOver()], lost: 0, phantom: 0, checker: Self.linearizable).isEmpty)
    var e = Self.failedOver()
    e.sites?.activeAfter = "a"
    e.sites?.fencedAt = nil
    e.sites?.ackedAfterFence = 2
    e.sites?.standbyRebuiltAt = nil
    let problems = DrillRun.problems(scenario, episodes: [e], lost: 0, phantom: 0, checker: Self.linearizable)
    #expect(problems.count == 4, "\(problems)")
    #expect(problems.contains { $0.contains("split brain") })
  }

  @Test func aLaggingStandbyMustBeReportedAndCatchUpExactly() {
    let scenario = DrillScenario.named("standby-lag")!
    var e = DrillEpisode(member: nil, injectedAt: 2)
    e.healthyAt = 15
    var s = SiteObservation(activeBefore: "a")
    s.activeAfter = "a"
    s.maxLagSeconds = 6
    s.lagFinding = true
    s.comparedAt = 15
    s.comparedRevision = 900
    e.sites = s
    #expect(DrillRun.problems(scenario, episodes: [e], lost: 0, phantom: 0, checker: Self.linearizable).isEmpty)
    e.sites?.maxLagSeconds = 0.5
    e.sites?.lagFinding = false
    e.sites?.differences = ["/k: missing on the standby (mod revision 12)"]
    e.sites?.activeAfter = "a-dr"
    let problems = DrillRun.problems(scenario, episodes: [e], lost: 0, phantom: 0, checker: Self.linearizable)
    #expect(problems.count == 4, "\(problems)")
  }

  @Test func aRestartedMirrorMustResumeNotSeedAgain() {
    let scenario = DrillScenario.named("mirror-restart")!
    var e = DrillEpisode(member: nil, injectedAt: 2)
    e.healthyAt = 8
    var s = SiteObservation(activeBefore: "a")
    s.comparedAt = 8
    s.comparedRevision = 500
    s.seedsAfter = 1
    e.sites = s
    let problems = DrillRun.problems(scenario, episodes: [e], lost: 0, phantom: 0, checker: Self.linearizable)
    #expect(problems == ["the cluster: the restarted mirror seeded the standby again (1 time(s)) instead of resuming"])
  }
}
