import VigilCore

/// The smallest piece of history found that no order can explain.
public struct LinearizabilityViolation: Sendable, Hashable, Codable {
  public var key: String
  /// The key's value known at the start of the piece (nil: absent).
  public var initialValue: String?
  /// The time the piece starts from (seconds since the drill began).
  public var from: Double
  public var operations: [RecordedOperation]

  /// The piece as lines for a person.
  public var lines: [String] {
    ["key \(key), holding \(RecordedOperation.show(initialValue)) at \(RecordedOperation.format(from)):"]
      + operations.map { "  " + $0.summary }
  }
}

/// The checker's answer for a whole history.
public struct LinearizabilityVerdict: Sendable, Hashable, Codable {
  public enum Status: String, Sendable, Hashable, Codable {
    /// Some order of the operations explains every result.
    case linearizable
    /// No order does: ``violation`` shows it.
    case violation
    /// The search hit its bound on some key before deciding.
    case gaveUp = "gave up"
  }
  public var status: Status
  public var keys: Int
  public var operations: Int
  /// Search states visited, over every key.
  public var explored: Int
  /// Keys whose search hit the bound (status gaveUp).
  public var undecidedKeys: [String]
  public var violation: LinearizabilityViolation?

  public init(
    status: Status, keys: Int, operations: Int, explored: Int, undecidedKeys: [String],
    violation: LinearizabilityViolation?
  ) {
    self.status = status
    self.keys = keys
    self.operations = operations
    self.explored = explored
    self.undecidedKeys = undecidedKeys
    self.violation = violation
  }
}

/// Checks recorded histories against a key-value register model.
///
/// Each key is an independent register (linearizability is compositional), so
/// keys are checked one at a time. For a key, a depth-first search looks for
/// an order of its operations that respects real time (an operation that
/// completed before another was invoked comes first) and in which every
/// acknowledged result is what the register would return — the approach of
/// Wing & Gong with Lowe's memoisation of (linearized set, value). Operations
/// with an unknown outcome may take effect at any point after their invoke,
/// or never. Failed operations did not happen; serializable reads are not
/// linearizable by contract and are checked only for values nobody wrote.
public struct HistoryChecker: Sendable {
  /// Search states allowed per key before it gives up (and says so).
  public var maxStatesPerKey: Int

  public init(maxStatesPerKey: Int = 2_000_000) {
    self.maxStatesPerKey = maxStatesPerKey
  }

  /// Checks every key; on a violation returns the smallest piece found.
  public func check(_ history: [RecordedOperation]) -> LinearizabilityVerdict {
    var byKey: [String: [RecordedOperation]] = [:]
    for op in history where Self.relevant(op) { byKey[op.key, default: []].append(op) }
    var explored = 0
    var undecided: [String] = []
    var count = 0
    for key in byKey.keys.sorted() {
      let ops = byKey[key]!
      count += ops.count
      let result = search(ops, initial: nil)
      explored += result.explored
      switch result.answer {
      case .linearizable: continue
      case .gaveUp: undecided.append(key)
      case .violation:
        let piece = smallestPiece(ops)
        return LinearizabilityVerdict(
          status: .violation, keys: byKey.count, operations: count, explored: explored, undecidedKeys: undecided,
          violation: piece)
      }
    }
    return LinearizabilityVerdict(
      status: undecided.isEmpty ? .linearizable : .gaveUp, keys: byKey.count, operations: count, explored: explored,
      undecidedKeys: undecided, violation: nil)
  }

  /// Acknowledged inserts missing or changed in the final read (key → value, absent keys missing).
  public static func lostWrites(_ history: [RecordedOperation], final: [String: String]) -> [RecordedOperation] {
    history.filter { $0.kind == .insert && $0.outcome == .ok && final[$0.key] != $0.value }
  }

  /// Serializable reads that returned a value no write ever carried (stale is allowed; invented is not).
  public static func phantomReads(_ history: [RecordedOperation]) -> [RecordedOperation] {
    var written: [String: Set<String>] = [:]
    for op in history where op.isWrite && op.outcome != .failed {
      if let v = op.value { written[op.key, default: []].insert(v) }
    }
    return history.filter { op in
      guard op.kind == .get, op.consistency == .serializable, op.outcome == .ok, let read = op.read else { return false }
      return written[op.key]?.contains(read) != true
    }
  }

  static func relevant(_ op: RecordedOperation) -> Bool {
    switch (op.kind, op.outcome) {
    case (_, .failed): false
    case (.get, .unknown): false  // a read that never answered changed nothing
    case (.get, .ok): op.consistency != .serializable
    default: true
    }
  }

  // MARK: the search

  enum Answer { case linearizable, violation, gaveUp }

  struct Entry {
    var op: RecordedOperation
    var invoke: Double
    /// Infinity for unknown outcomes: they never have to be placed.
    var complete: Double
    var required: Bool
  }

  struct State: Hashable {
    var placed: [UInt64]
    var value: String?
    /// Blind writes placed so far (the earliest ones: see ``search``).
    var blindUsed = 0
  }

  /// The value of a write nobody observed: every such write looks the same to the model.
  static let blind = "\u{1}blind"

  /// Searches for an order of `ops` (one key) starting from `initial`.
  ///
  /// Blind writes — unknown puts whose value no read returned and no compare-and-swap expected — are
  /// interchangeable: each leaves the register holding a value nothing will match, and each may take effect
  /// at any time after its invoke. The search keeps only how many of them it has placed, not which, so a
  /// stretch of timeouts (a NOSPACE or partition window) does not multiply the states it must visit.
  /// - Parameter collectFinals: explore every order and collect the values it can end with.
  func search(_ ops: [RecordedOperation], initial: String?, collectFinals: Bool = false)
    -> (answer: Answer, explored: Int, finals: Set<String?>)
  {
    let observed = Set(ops.compactMap { $0.kind == .get ? $0.read : nil } + ops.compactMap { $0.kind == .cas ? $0.expected : nil })
    let isBlind = { (op: RecordedOperation) -> Bool in
      op.outcome == .unknown && (op.kind == .put || op.kind == .insert) && !observed.contains(op.value ?? "")
    }
    let blindInvokes = ops.filter(isBlind).map(\.invokedAt).sorted()
    let entries = ops.filter { !isBlind($0) }.map {
      Entry(op: $0, invoke: $0.invokedAt, complete: $0.outcome == .ok ? $0.completedAt : .infinity, required: $0.outcome == .ok)
    }.sorted { ($0.invoke, $0.op.id) < ($1.invoke, $1.op.id) }
    let n = entries.count
    let words = (n + 63) / 64
    let required = entries.filter(\.required).count
    if required == 0 && !collectFinals { return (.linearizable, 0, []) }

    struct Frame {
      var state: State
      var placedRequired: Int
      /// Entry indexes; -1 places the next blind write.
      var candidates: [Int]
      var next: Int
    }

    func isPlaced(_ s: State, _ i: Int) -> Bool { s.placed[i >> 6] & (1 << UInt64(i & 63)) != 0 }

    func candidates(_ s: State) -> [Int] {
      var result: [Int] = []
      var horizon = Double.infinity
      for i in 0..<n where !isPlaced(s, i) {
        let e = entries[i]
        if e.invoke > horizon { break }
        result.append(i)
        if e.required { horizon = min(horizon, e.complete) }
      }
      // A blind write on a register already holding an unobserved value changes nothing.
      if s.value != Self.blind, s.blindUsed < blindInvokes.count, blindInvokes[s.blindUsed] <= horizon {
        result.append(-1)
      }
      return result
    }

    /// The register's answer to placing entry `i` next: the new value, or nil when it contradicts the results.
    func apply(_ e: Entry, to value: String?) -> String?? {
      switch e.op.kind {
      case .put, .insert: return .some(e.op.value)
      case .get: return e.op.read == value ? .some(value) : nil
      case .cas:
        let matches = value == e.op.expected
        switch e.op.succeeded {
        case true?: return matches ? .some(e.op.value) : nil
        case false?: return matches ? nil : .some(value)
        case nil: return matches ? .some(e.op.value) : nil  // unknown: only placing a swap changes anything
        }
      }
    }

    var seen: Set<State> = []
    let root = State(placed: Array(repeating: 0, count: words), value: initial)
    seen.insert(root)
    var stack = [Frame(state: root, placedRequired: 0, candidates: candidates(root), next: 0)]
    var finals: Set<String?> = []
    while !stack.isEmpty {
      if seen.count > maxStatesPerKey { return (.gaveUp, seen.count, finals) }
      let top = stack.count - 1
      if stack[top].placedRequired == required {
        guard collectFinals else { return (.linearizable, seen.count, []) }
        finals.insert(stack[top].state.value)
      }
      guard stack[top].next < stack[top].candidates.count else {
        stack.removeLast()
        continue
      }
      let i = stack[top].candidates[stack[top].next]
      stack[top].next += 1
      let frame = stack[top]
      var next = frame.state
      var placedRequired = frame.placedRequired
      if i < 0 {
        next.value = Self.blind
        next.blindUsed += 1
      } else {
        guard let value = apply(entries[i], to: frame.state.value) else { continue }
        next.placed[i >> 6] |= 1 << UInt64(i & 63)
        next.value = value
        if entries[i].required { placedRequired += 1 }
      }
      guard seen.insert(next).inserted else { continue }
      stack.append(Frame(state: next, placedRequired: placedRequired, candidates: candidates(next), next: 0))
    }
    return (finals.isEmpty ? .violation : .linearizable, seen.count, finals)
  }

  // MARK: the smallest piece

  /// Shrinks a key's failing history to a piece that still fails, by steps that keep "fails" meaning
  /// "the whole history fails": cut the end (operations still running at the cut become unknown), start
  /// after a quiet moment whose value every order agrees on, and drop reads the failure does not need.
  func smallestPiece(_ ops: [RecordedOperation]) -> LinearizabilityViolation {
    let key = ops.first?.key ?? ""
    // 1. The earliest end: binary search over acknowledged completion times.
    let cuts = ops.filter { $0.outcome == .ok }.map(\.completedAt).sorted()
    var lo = 0
    var hi = cuts.count - 1
    while lo < hi {
      let mid = (lo + hi) / 2
      if search(Self.prefix(ops, until: cuts[mid]), initial: nil).answer == .violation { hi = mid } else { lo = mid + 1 }
    }
    var piece = cuts.isEmpty ? ops : Self.prefix(ops, until: cuts[lo])
    var initial: String? = nil
    var from = piece.map(\.invokedAt).min() ?? 0

    // 2. The latest quiet moment before the end whose value is certain (and with a write after it).
    let quiet = Self.quietMoments(piece).reversed()
    for q in quiet.prefix(20) {
      let before = piece.filter { $0.invokedAt < q }
      let after = piece.filter { $0.invokedAt >= q }
      guard after.contains(where: \.isWrite) else { continue }  // keep the write a stale read contradicts
      let earlier = search(before, initial: nil, collectFinals: true)
      guard earlier.answer == .linearizable, earlier.finals.count == 1, let value = earlier.finals.first else { continue }
      if search(after, initial: value).answer == .violation {
        piece = after
        initial = value
        from = q
        break
      }
    }

    // 3. Reads the failure does not need.
    var i = 0
    while i < piece.count {
      if piece[i].kind == .get {
        var fewer = piece
        fewer.remove(at: i)
        if search(fewer, initial: initial).answer == .violation {
          piece = fewer
          continue
        }
      }
      i += 1
    }
    return LinearizabilityViolation(
      key: key, initialValue: initial, from: from, operations: piece.sorted { ($0.invokedAt, $0.id) < ($1.invokedAt, $1.id) })
  }

  /// The operations invoked by `t`; those still running at `t` become unknown (reads among them are dropped).
  static func prefix(_ ops: [RecordedOperation], until t: Double) -> [RecordedOperation] {
    ops.compactMap { op in
      guard op.invokedAt <= t else { return nil }
      guard op.completedAt > t, op.outcome == .ok else { return op }
      guard op.kind != .get else { return nil }
      var cut = op
      cut.outcome = .unknown
      cut.succeeded = nil
      return cut
    }
  }

  /// Times at which no operation is running and none before is unknown: the history can be split there.
  static func quietMoments(_ ops: [RecordedOperation]) -> [Double] {
    let sorted = ops.sorted { $0.invokedAt < $1.invokedAt }
    var result: [Double] = []
    var busyUntil = -Double.infinity
    for op in sorted {
      if op.invokedAt > busyUntil, busyUntil > -.infinity { result.append(op.invokedAt) }
      busyUntil = max(busyUntil, op.outcome == .ok ? op.completedAt : .infinity)
    }
    return result
  }
}
