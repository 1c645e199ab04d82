import Foundation
import GRDB
import VigilCore

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
        """
        INSERT INTO activeSide (cluster, active, fenced, changedAt, changedBy, planId) VALUES (?,?,?,?,?,?)
        ON CONFLICT (cluster) DO UPDATE SET active = excluded.active, fenced = excluded.fenced,
          changedAt = excluded.changedAt, changedBy = excluded.changedBy, planId = excluded.planId
        """,
        [side.cluster, side.active, side.fenced, side.changedAt, side.changedBy, side.planID])
    }
  }

  /// Every pair whose active side a failover changed, by pair name.
  public func activeSides() async throws -> [String: ActiveSide] {
    try await read { db in
      var out: [String: ActiveSide] = [:]
      for r in try db.rows("SELECT * FROM activeSide") {
        let side = ActiveSide(
          cluster: try r["cluster"], active: try r["active"], fenced: try r["fenced"], changedAt: try r["changedAt"],
          changedBy: try r["changedBy"], planID: try r["planId"])
        out[side.cluster] = side
      }
      return out
    }
  }
}
