import Testing
import VigilCore

/// How a mirror starts and how its lag is counted: pure decisions.
@Suite struct StandbyDecisionTests {
  let mine = MirrorPosition(state: .mirroring, source: "abc", revision: 120, partsApplied: 1, offset: 1000)

  @Test func anEmptyStandbyIsSeededAndADirtyOneOnlyWhenVigilMadeIt() {
    #expect(MirrorStart.decide(position: nil, source: "abc", standbyKeys: 0, mayOverwrite: false) == .seed(reason: "the standby is empty"))
    guard case .refuse(let why) = MirrorStart.decide(position: nil, source: "abc", standbyKeys: 3, mayOverwrite: false) else {
      Issue.record("a standby with keys and no position must be refused")
      return
    }
    #expect(why.contains("3 key(s)"))
    guard case .seed = MirrorStart.decide(position: nil, source: "abc", standbyKeys: 3, mayOverwrite: true) else {
      Issue.record("a failover's old primary is rebuilt")
      return
    }
  }

  @Test func aPositionFromThisPrimaryResumesWhereItStopped() {
    #expect(
      MirrorStart.decide(position: mine, source: "abc", standbyKeys: 500, mayOverwrite: false)
        == .resume(after: 120, partsApplied: 1, offset: 1000))
  }

  @Test func anotherPrimaryOrAnUnfinishedSeedSeedsAgain() {
    guard case .seed(let why) = MirrorStart.decide(position: mine, source: "def", standbyKeys: 5, mayOverwrite: false) else {
      Issue.record("a new primary cluster id re-seeds")
      return
    }
    #expect(why.contains("def") && why.contains("abc"))
    var seeding = mine
    seeding.state = .seeding
    #expect(MirrorStart.decide(position: seeding, source: "abc", standbyKeys: 5, mayOverwrite: false) == .seed(reason: "a seed did not finish"))
  }

  @Test func aPositionSurvivesItsEncodingAndGarbageIsNamed() throws {
    #expect(try MirrorPosition.decode(mine.encoded()) == mine)
    #expect(throws: MirrorDecisionError.self) { try MirrorPosition.decode(Array("nonsense".utf8)) }
    do {
      _ = try MirrorPosition.decode(Array("nonsense".utf8))
    } catch {
      #expect("\(error)".contains(MirrorPosition.key) && "\(error)".contains("nonsense"))
    }
  }

  @Test func lagInRevisionsNeverGoesBelowZero() {
    #expect(StandbyLag.revisions(primary: 150, applied: 120) == 30)
    #expect(StandbyLag.revisions(primary: 100, applied: 120) == 0)
  }

  @Test func lagInSecondsCountsFromTheFirstHeartbeatTheStandbyMisses() {
    let written = [100.0, 101.0, 102.0, 103.0]
    // Holding the newest: no lag, however old it is.
    #expect(StandbyLag.seconds(onStandby: 103, written: written, now: 103.9) == 0)
    // Holding 101: it has been missing 102 since 102.
    #expect(StandbyLag.seconds(onStandby: 101, written: written, now: 103.5) == 1.5)
    // Holding nothing yet: since the first one written.
    #expect(StandbyLag.seconds(onStandby: nil, written: written, now: 104) == 4)
    // Nothing written (the primary is down): no claim.
    #expect(StandbyLag.seconds(onStandby: 99, written: [], now: 200) == 0)
  }
}
