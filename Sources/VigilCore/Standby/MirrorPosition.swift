import Foundation

/// Where a standby's mirror stands, stored on the standby under ``key`` in the same transaction as the
/// changes it covers, so a restarted mirror resumes exactly after the last source revision it applied.
public struct MirrorPosition: Sendable, Hashable, Codable {
  /// The reserved key on the standby. It is never mirrored, and a seed never deletes it.
  public static let key = "/vigil/standby/position"
  /// The key Vigil writes a timestamp to on each primary (mirrored like any other key): the lag in seconds.
  public static let heartbeatKey = "/vigil/standby/heartbeat"

  public enum State: String, Sendable, Hashable, Codable {
    /// A copy is being made; the standby's content is not yet a state the primary ever had.
    case seeding
    /// Every source revision up to ``revision`` is applied.
    case mirroring
  }

  public var state: State
  /// The primary's cluster id (hex) the content comes from.
  public var source: String
  /// The newest source revision wholly applied.
  public var revision: Int64
  /// Parts of revision + 1 already applied, when that revision needed more than one transaction.
  public var partsApplied: Int
  /// Standby revision minus source revision, fixed at seeding (it grows only when a revision is split).
  public var offset: Int64

  public init(state: State, source: String, revision: Int64, partsApplied: Int = 0, offset: Int64) {
    self.state = state
    self.source = source
    self.revision = revision
    self.partsApplied = partsApplied
    self.offset = offset
  }

  public func encoded() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Array((try? encoder.encode(self)) ?? Data())  // plain data always encodes
  }

  /// Reads a stored position.
  /// - Throws: a message naming what is wrong, when the key holds something else.
  public static func decode(_ bytes: [UInt8]) throws -> MirrorPosition {
    do { return try JSONDecoder().decode(MirrorPosition.self, from: Data(bytes)) } catch {
      let text = String(decoding: bytes.prefix(80), as: UTF8.self)
      throw MirrorDecisionError("\(key) holds \"\(text)\", not a mirror position (expected JSON with state, source, revision, offset)")
    }
  }
}

public struct MirrorDecisionError: Error, Sendable, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// How a mirror starts, from what the standby holds.
public enum MirrorStart: Sendable, Hashable {
  /// Follow the primary from the revision after this one.
  case resume(after: Int64, partsApplied: Int, offset: Int64)
  /// Copy the primary afresh (the standby's content is Vigil's, or empty).
  case seed(reason: String)
  /// Leave the standby alone and tell a person.
  case refuse(reason: String)

  /// - Parameters:
  ///   - position: the standby's stored position, if any.
  ///   - source: the primary's cluster id now.
  ///   - standbyKeys: keys on the standby other than Vigil's reserved ones.
  ///   - mayOverwrite: Vigil itself made this cluster a standby (a failover's old primary).
  public static func decide(
    position: MirrorPosition?, source: String, standbyKeys: Int64, mayOverwrite: Bool
  ) -> MirrorStart {
    guard let position else {
      if standbyKeys == 0 { return .seed(reason: "the standby is empty") }
      if mayOverwrite { return .seed(reason: "the standby is the old primary of a failover: it is rebuilt from the new one") }
      return .refuse(
        reason:
          "the standby holds \(standbyKeys) key(s) and no mirror position: Vigil does not overwrite data it did not write (empty it, or make it a standby through a failover)"
      )
    }
    if position.source != source {
      return .seed(reason: "the primary is another cluster now (id \(source), the copy came from \(position.source))")
    }
    if position.state == .seeding { return .seed(reason: "a seed did not finish") }
    return .resume(after: position.revision, partsApplied: position.partsApplied, offset: position.offset)
  }
}

/// The standby's lag, from what the mirror has applied and the primary's heartbeat.
public enum StandbyLag {
  /// Revisions the standby is behind: the primary's newest known revision minus the newest applied.
  public static func revisions(primary: Int64, applied: Int64) -> Int64 { max(0, primary - applied) }

  /// Seconds the standby has been missing a heartbeat: 0 when it holds the newest one written; otherwise
  /// since the first heartbeat after the one it holds was written.
  /// - Parameters:
  ///   - onStandby: the heartbeat time the standby holds (nil: none yet).
  ///   - written: the heartbeats written to the primary, oldest first (times, as stored).
  public static func seconds(onStandby: Double?, written: [Double], now: Double) -> Double {
    guard let newest = written.last else { return 0 }
    guard let held = onStandby else { return max(0, now - (written.first ?? newest)) }
    if held >= newest { return 0 }
    let missingSince = written.first { $0 > held } ?? newest
    return max(0, now - missingSince)
  }
}

/// What `/status` and the metrics show of a standby.
public struct StandbyStatus: Sendable, Hashable, Codable {
  public enum Phase: String, Sendable, Hashable, Codable { case starting, seeding, mirroring, refused, stopped }
  /// The pair's name (the configured primary's).
  public var cluster: String
  /// The side copied from (the active one) and the side copied into.
  public var active: String
  public var standby: String
  public var phase: Phase
  /// The newest primary revision wholly applied on the standby.
  public var appliedRevision: Int64
  /// The newest primary revision the mirror knows of.
  public var primaryRevision: Int64
  public var lagRevisions: Int64
  public var lagSeconds: Double
  /// Standby revision minus primary revision.
  public var offset: Int64
  public var seeds: Int
  public var lastError: String?

  public init(
    cluster: String, active: String, standby: String, phase: Phase, appliedRevision: Int64, primaryRevision: Int64, lagRevisions: Int64,
    lagSeconds: Double, offset: Int64, seeds: Int, lastError: String?
  ) {
    self.cluster = cluster
    self.active = active
    self.standby = standby
    self.phase = phase
    self.appliedRevision = appliedRevision
    self.primaryRevision = primaryRevision
    self.lagRevisions = lagRevisions
    self.lagSeconds = lagSeconds
    self.offset = offset
    self.seeds = seeds
    self.lastError = lastError
  }
}
