import Testing
import VigilCore
import VigilOracle

/// The checker must catch what it must and accept what it may: hand-made histories with known answers.
@Suite("History checker")
struct HistoryCheckerTests {
  /// A tiny history builder: times in seconds, ids in call order.
  struct H {
    var ops: [RecordedOperation] = []
    mutating func add(
      _ kind: OperationKind, _ key: String = "k", value: String? = nil, expected: String? = nil, read: String? = nil,
      swapped: Bool? = nil, _ t0: Double, _ t1: Double, _ outcome: OperationOutcome = .ok, client: String = "c",
      consistency: ReadConsistency? = nil
    ) {
      ops.append(
        RecordedOperation(
          id: ops.count, client: client, kind: kind, key: key, value: value, expected: expected,
          consistency: kind == .get ? (consistency ?? .linearizable) : nil, invokedAt: t0, completedAt: t1,
          outcome: outcome, read: read, succeeded: kind == .cas && outcome == .ok ? swapped : nil))
    }
  }

  @Test func aSequentialHistoryIsLinearizable() {
    var h = H()
    h.add(.put, value: "a", 0, 1)
    h.add(.get, read: "a", 2, 3)
    h.add(.cas, value: "b", expected: "a", swapped: true, 4, 5)
    h.add(.cas, value: "c", expected: "a", swapped: false, 6, 7)
    h.add(.get, read: "b", 8, 9)
    let v = HistoryChecker().check(h.ops)
    #expect(v.status == .linearizable)
    #expect(v.operations == 5)
    #expect(v.keys == 1)
  }

  @Test func aLostAcknowledgedWriteIsCaught() {
    var h = H()
    for i in 0..<20 { h.add(.put, value: "v\(i)", Double(i), Double(i) + 0.5, client: "w") }
    h.add(.put, value: "last", 30, 31, client: "w")  // acknowledged…
    h.add(.get, read: "v19", 40, 41, client: "r")  // …but a later read sees the value before it
    let v = HistoryChecker().check(h.ops)
    #expect(v.status == .violation)
    let piece = v.violation!
    // The piece starts from the quiet moment before the last write and needs nothing older.
    #expect(piece.operations.map(\.id) == [20, 21])
    #expect(piece.initialValue == "v19")
    #expect(piece.lines.count == 3)
  }

  @Test func aStaleReadAfterANewerAcknowledgedWriteIsCaught() {
    var h = H()
    h.add(.put, value: "old", 0, 1, client: "a")
    h.add(.put, value: "new", 2, 3, client: "a")
    h.add(.get, read: "new", 3.5, 4, client: "b")
    h.add(.get, read: "old", 5, 6, client: "c")  // stale: "new" was acknowledged and already read
    h.add(.get, read: "new", 7, 8, client: "b")
    let v = HistoryChecker().check(h.ops)
    #expect(v.status == .violation)
    #expect(v.violation!.operations.contains { $0.id == 3 })
    #expect(!v.violation!.operations.contains { $0.id == 4 })  // the cut ends at the first impossible read
  }

  @Test func aSerializableReadMayBeStaleButNotInvented() {
    var h = H()
    h.add(.put, value: "old", 0, 1)
    h.add(.put, value: "new", 2, 3)
    h.add(.get, read: "old", 5, 6, consistency: .serializable)
    h.add(.get, read: "never-written", 7, 8, consistency: .serializable)
    #expect(HistoryChecker().check(h.ops).status == .linearizable)
    #expect(HistoryChecker.phantomReads(h.ops).map(\.id) == [3])
  }

  @Test func aCompareAndSwapThatSucceededOnAStaleValueIsCaught() {
    var h = H()
    h.add(.put, value: "a", 0, 1, client: "x")
    h.add(.put, value: "b", 2, 3, client: "x")
    h.add(.cas, value: "c", expected: "a", swapped: true, 4, 5, client: "y")  // "a" was overwritten before
    let v = HistoryChecker().check(h.ops)
    #expect(v.status == .violation)
    #expect(v.violation!.operations.map(\.id) == [2])
    #expect(v.violation!.initialValue == "b")
  }

  @Test func concurrentOperationsMayBeOrderedEitherWay() {
    var h = H()
    h.add(.put, value: "a", 0, 10, client: "x")
    h.add(.put, value: "b", 1, 9, client: "y")
    h.add(.get, read: "a", 2, 3, client: "z")  // "a" placed early
    h.add(.get, read: "b", 4, 5, client: "z")  // then "b"
    h.add(.get, read: "b", 11, 12, client: "z")
    #expect(HistoryChecker().check(h.ops).status == .linearizable)
    // But once "b" was seen after "a", "a" cannot come back.
    h.add(.get, read: "a", 13, 14, client: "z")
    #expect(HistoryChecker().check(h.ops).status == .violation)
  }

  @Test func anUnknownWriteMayHaveHappened() {
    var h = H()
    h.add(.put, value: "a", 0, 1)
    h.add(.put, value: "maybe", 2, 3, .unknown)
    h.add(.get, read: "maybe", 10, 11)  // it took effect, later than its timeout
    #expect(HistoryChecker().check(h.ops).status == .linearizable)
  }

  @Test func anUnknownWriteMayNotHaveHappened() {
    var h = H()
    h.add(.put, value: "a", 0, 1)
    h.add(.put, value: "maybe", 2, 3, .unknown)
    h.add(.cas, value: "z", expected: "maybe", swapped: false, 4, 5, .unknown)
    h.add(.get, read: "a", 10, 11)
    #expect(HistoryChecker().check(h.ops).status == .linearizable)
  }

  @Test func anUnknownWriteCannotTakeEffectBeforeItWasInvoked() {
    var h = H()
    h.add(.put, value: "a", 0, 1)
    h.add(.get, read: "later", 2, 3)
    h.add(.put, value: "later", 5, 6, .unknown)
    #expect(HistoryChecker().check(h.ops).status == .violation)
  }

  @Test func failedWritesDidNotHappen() {
    var h = H()
    h.add(.put, value: "a", 0, 1)
    h.add(.put, value: "refused", 2, 3, .failed)
    h.add(.get, read: "refused", 4, 5)
    #expect(HistoryChecker().check(h.ops).status == .violation)
  }

  @Test func keysAreIndependentAndEachIsChecked() {
    var h = H()
    h.add(.put, "k1", value: "a", 0, 1)
    h.add(.put, "k2", value: "b", 0, 1)
    h.add(.get, "k1", read: "a", 2, 3)
    h.add(.get, "k2", read: nil, 2, 3)  // k2's write is lost
    let v = HistoryChecker().check(h.ops)
    #expect(v.keys == 2)
    #expect(v.violation?.key == "k2")
  }

  @Test func theSearchSaysWhenItGivesUp() {
    var h = H()
    // Many concurrent unknown writes, each read back by a long concurrent read: a huge space of orders.
    for i in 0..<24 { h.add(.put, value: "u\(i)", 0, 1, .unknown, client: "c\(i)") }
    for i in 0..<24 { h.add(.get, read: "u\(i)", 0.5, 10, client: "r\(i)") }
    h.add(.get, read: "nobody-wrote-this", 2, 3)
    let v = HistoryChecker(maxStatesPerKey: 1000).check(h.ops)
    #expect(v.status == .gaveUp)
    #expect(v.undecidedKeys == ["k"])
  }

  @Test func lostInsertsAreCountedAgainstTheFinalRead() {
    var h = H()
    h.add(.insert, "s/1", value: "1", 0, 1)
    h.add(.insert, "s/2", value: "2", 0, 1)
    h.add(.insert, "s/3", value: "3", 0, 1, .unknown)
    h.add(.insert, "s/4", value: "4", 0, 1, .failed)
    let lost = HistoryChecker.lostWrites(h.ops, final: ["s/1": "1", "s/3": "3"])
    #expect(lost.map(\.key) == ["s/2"])
  }

  @Test func aLongConcurrentValidHistoryIsDecidedQuickly() {
    var h = H()
    // Four clients, 2,000 operations on one key, overlapping in pairs, each read returning the latest write.
    var t = 0.0
    var latest: String? = nil
    for i in 0..<500 {
      let v = "v\(i)"
      h.add(.put, value: v, t, t + 0.003, client: "w\(i % 2)")
      h.add(.get, read: latest, t + 0.0005, t + 0.001, client: "r")  // concurrent with the write: old value is fine
      latest = v
      h.add(.get, read: v, t + 0.004, t + 0.005, client: "r")
      h.add(.cas, value: "c\(i)", expected: "nope", swapped: false, t + 0.006, t + 0.007, client: "x")
      t += 0.01
    }
    let v = HistoryChecker().check(h.ops)
    #expect(v.status == .linearizable)
    #expect(v.explored < 50_000)
  }
}

extension HistoryCheckerTests {
  @Test func manyUnobservedTimeoutsAreDecidedWithoutBlowingUp() {
    var h = H()
    // A NOSPACE window: 200 writes from 4 clients, each answered "unknown", none ever read back,
    // between acknowledged writes and reads that must still line up.
    h.add(.put, value: "before", 0, 0.01)
    for i in 0..<200 {
      let t = 1 + Double(i) * 0.01
      h.add(.put, value: "maybe\(i)", t, t + 0.005, .unknown, client: "c\(i % 4)")
      h.add(.cas, value: "x\(i)", expected: "before", swapped: false, t + 0.006, t + 0.008, client: "d")
    }
    h.add(.put, value: "after", 5, 5.01)
    h.add(.get, read: "after", 6, 6.01)
    let v = HistoryChecker(maxStatesPerKey: 100_000).check(h.ops)
    #expect(v.status == .linearizable)  // the failed CASes are explained by some unknown write having landed
    // And a read of the value from before the window, after a later acknowledged write, is still caught.
    h.add(.get, read: "before", 7, 7.01)
    #expect(HistoryChecker(maxStatesPerKey: 100_000).check(h.ops).status == .violation)
  }

  @Test func aFailedSwapNeedsSomethingToHaveChangedTheValue() {
    var h = H()
    h.add(.put, value: "a", 0, 1)
    h.add(.cas, value: "b", expected: "a", swapped: false, 2, 3)  // nothing else wrote: it must have swapped
    #expect(HistoryChecker().check(h.ops).status == .violation)
    h.add(.put, value: "lost-in-timeout", 1.5, 1.6, .unknown, client: "z")  // unless this landed first
    #expect(HistoryChecker().check(h.ops).status == .linearizable)
  }
}
