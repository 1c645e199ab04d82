import Foundation
import GRDB

/// Which side of a primary/standby pair serves clients, as the last failover left it.
public struct ActiveSide: Sendable, Hashable, Codable {
  /// The pair's name: the configured primary's.
  public var cluster: String
  /// The cluster that serves clients now.
  public var active: String
  /// The side a failover fenced (its members stopped); it comes back as the standby.
  public var fenced: String?
  public var changedAt: Double
  public var changedBy: String
  public var planID: Int64?

  public init(cluster: String, active: String, fenced: String?, changedAt: Double, changedBy: String, planID: Int64?) {
    self.cluster = cluster
    self.active = active
    self.fenced = fenced
    self.changedAt = changedAt
    self.changedBy = changedBy
    self.planID = planID
  }
}

extension HistoryStore {
  static func createSiteTables(_ db: Database) throws {
    try db.create(table: "activeSide") { t in
      t.primaryKey("cluster", .text)
      t.column("active", .text).notNull()
      t.column("fenced", .text)
      t.column("changedAt", .double).notNull()
      t.column("changedBy", .text).notNull()
      t.column("planId", .integer)
    }
  }

  /// Records which side of `side.cluster`'s pair is active (kept across restarts).
  public func setActive(_ side: ActiveSide) async throws {
    try await write { db in
      try db.execute(
        sql: """
          INSERT INTO activeSide (cluster, active, fenced, changedAt, changedBy, planId) VALUES (?,?,?,?,?,?)
          ON CONFLICT (cluster) DO UPDATE SET active = excluded.active, fenced = excluded.fenced,
            changedAt = excluded.changedAt, changedBy = excluded.changedBy, planId = excluded.planId
          """,
        arguments: [side.cluster, side.active, side.fenced, side.changedAt, side.changedBy, side.planID])
    }
  }

  /// Every pair whose active side a failover changed, by pair name.
  public func activeSides() throws -> [String: ActiveSide] {
    try pool.read { db in
      var out: [String: ActiveSide] = [:]
      for r in try Row.fetchAll(db, sql: "SELECT * FROM activeSide") {
        let side = ActiveSide(
          cluster: r["cluster"], active: r["active"], fenced: r["fenced"], changedAt: r["changedAt"],
          changedBy: r["changedBy"], planID: r["planId"])
        out[side.cluster] = side
      }
      return out
    }
  }
}
