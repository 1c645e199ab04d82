/// The point a restore brings a cluster back to.
public enum RestoreTarget: Sendable, Hashable, CustomStringConvertible {
  /// Everything the change log holds.
  case latest
  /// The state right after this store revision.
  case revision(Int64)
  /// The state as of this time (seconds since 1970): every change Vigil received up to it.
  case time(Double)

  public var description: String {
    switch self {
    case .latest: "the newest point"
    case .revision(let r): "revision \(r)"
    case .time(let t): "time \(t)"
    }
  }
}

/// A restore's inputs: one verified snapshot and the segments that extend it.
public struct RestoreSelection: Sendable, Hashable {
  public var snapshot: SnapshotRecord
  /// In revision order; together they hold every revision after the snapshot's (up to the target).
  public var segments: [SegmentInfo]
}

public enum RestoreChoice {
  /// Picks the newest verified snapshot at or before the target, and the segments that continue it without
  /// a gap.
  /// - Returns: nil and why, when no verified snapshot fits.
  public static func choose(
    snapshots: [SnapshotRecord], segments: [SegmentInfo], target: RestoreTarget
  ) -> Result<RestoreSelection, RestoreChoiceError> {
    let verified = snapshots.filter { $0.verification == .verified && $0.revision > 0 }.sorted {
      $0.revision > $1.revision
    }
    let fitting = verified.first { s in
      switch target {
      case .latest: true
      case .revision(let r): s.revision <= r
      case .time(let t): s.takenAt <= t
      }
    }
    guard let snapshot = fitting else {
      return .failure(
        RestoreChoiceError(
          verified.isEmpty
            ? "no verified snapshot is stored (\(snapshots.count) snapshot(s), none verified)"
            : "no verified snapshot is at or before \(target) (the oldest verified holds revision \(verified.last!.revision))"))
    }
    var chain: [SegmentInfo] = []
    var next = snapshot.revision + 1
    for s in segments.sorted(by: { $0.firstRevision < $1.firstRevision }) {
      if s.lastRevision < next { continue }
      if s.firstRevision > next { break }  // a gap: what follows cannot be replayed
      if case .revision(let r) = target, s.firstRevision > r { break }
      chain.append(s)
      next = s.lastRevision + 1
    }
    return .success(RestoreSelection(snapshot: snapshot, segments: chain))
  }
}

public struct RestoreChoiceError: Error, Sendable, Hashable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
