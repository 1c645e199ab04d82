import Crypto
import Foundation
import GRDB
import VigilCore

extension AuditEntry {
  /// SHA-256 over every field but `hash`, each length-prefixed so no two entries share an encoding.
  public var computedHash: String {
    let fields: [String] = [
      String(seq), String(at.bitPattern), actor, action, cluster, subject ?? "\u{0}", incidentID.map(String.init) ?? "\u{0}",
      planID.map(String.init) ?? "\u{0}", runbook ?? "\u{0}", step ?? "\u{0}", inputs, result, reason, prevHash,
    ]
    var data = Data()
    for f in fields {
      let bytes = Array(f.utf8)
      data.append(contentsOf: withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init))
      data.append(contentsOf: bytes)
    }
    return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
  }
}

/// The outcome of checking the audit chain.
public struct AuditVerification: Sendable, Hashable, Codable {
  public var entries: Int
  public var ok: Bool
  /// The first entry whose hash or link does not match, and what is wrong with it.
  public var firstBadSeq: Int64?
  public var problem: String?
}

extension HistoryStore {
  static func createRepairTables(_ db: Database) throws {
    try db.alter(table: "incident") { t in t.add(column: "recoveredAt", .double) }
    try db.create(table: "repairPlan") { t in
      t.autoIncrementedPrimaryKey("id")
      t.column("cluster", .text).notNull().indexed()
      t.column("member", .text)
      t.column("runbook", .text).notNull()
      t.column("fault", .text)
      t.column("reason", .text).notNull()
      t.column("incidentId", .integer)
      t.column("requestedBy", .text).notNull()
      t.column("state", .text).notNull().indexed()
      t.column("createdAt", .double).notNull()
      t.column("updatedAt", .double).notNull()
      t.column("finishedAt", .double)
      t.column("attempt", .integer).notNull()
      t.column("steps", .text).notNull()
      t.column("context", .text).notNull()
      t.column("decidedBy", .text)
      t.column("outcome", .text)
    }
    try db.create(table: "audit") { t in
      t.primaryKey("seq", .integer)
      t.column("at", .double).notNull()
      t.column("actor", .text).notNull()
      t.column("action", .text).notNull()
      t.column("cluster", .text).notNull().indexed()
      t.column("subject", .text)
      t.column("incidentId", .integer)
      t.column("planId", .integer)
      t.column("runbook", .text)
      t.column("step", .text)
      t.column("inputs", .text).notNull()
      t.column("result", .text).notNull()
      t.column("reason", .text).notNull()
      t.column("prevHash", .text).notNull()
      t.column("hash", .text).notNull()
    }
    // The log is append-only for Vigil: updates and deletes are refused by the database itself.
    try db.execute(
      sql: """
        CREATE TRIGGER auditNoUpdate BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER auditNoDelete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """)
    try db.create(table: "repairControl") { t in
      t.primaryKey("cluster", .text)
      t.column("paused", .boolean).notNull()
      t.column("updatedAt", .double).notNull()
      t.column("updatedBy", .text).notNull()
    }
  }

  // MARK: plans (the journal)

  /// Stores a new plan and returns it with its id.
  public func insert(plan: RepairPlan) async throws -> RepairPlan {
    try await write { db in
      var p = plan
      p.id = try db.value(
        """
        INSERT INTO repairPlan (cluster, member, runbook, fault, reason, incidentId, requestedBy, state, createdAt,
          updatedAt, finishedAt, attempt, steps, context, decidedBy, outcome)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id
        """,
        Self.planArguments(p)) ?? 0
      return p
    }
  }

  /// Writes a plan's whole state (called before and after every step).
  public func update(plan: RepairPlan) async throws {
    try await write { db in
      try db.execute(
        """
        UPDATE repairPlan SET cluster = ?, member = ?, runbook = ?, fault = ?, reason = ?, incidentId = ?,
          requestedBy = ?, state = ?, createdAt = ?, updatedAt = ?, finishedAt = ?, attempt = ?, steps = ?,
          context = ?, decidedBy = ?, outcome = ? WHERE id = ?
        """,
        Self.planArguments(plan) + [plan.id])
    }
  }

  public func plan(id: Int64) async throws -> RepairPlan? {
    try await read { db in try db.row("SELECT * FROM repairPlan WHERE id = ?", [id]).map(Self.plan) }
  }

  /// Plans, newest first.
  public func plans(cluster: String? = nil, states: [PlanState]? = nil, limit: Int = 100) async throws -> [RepairPlan] {
    try await read { db in
      var sql = "SELECT * FROM repairPlan WHERE (? IS NULL OR cluster = ?)"
      var args: [any SQLBindable] = [cluster, cluster]
      if let states {
        sql += " AND state IN (\(states.map { _ in "?" }.joined(separator: ",")))"
        args += states.map(\.rawValue) as [any SQLBindable]
      }
      sql += " ORDER BY id DESC LIMIT ?"
      args.append(limit)
      return try db.rows(sql, args).map(Self.plan)
    }
  }

  static func planArguments(_ p: RepairPlan) -> [any SQLBindable] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let steps = (try? String(decoding: encoder.encode(p.steps), as: UTF8.self)) ?? "[]"
    let context = (try? String(decoding: encoder.encode(p.context), as: UTF8.self)) ?? "{}"
    return [
      p.cluster, p.member, p.runbook.rawValue, p.fault?.rawValue, p.reason, p.incidentID, p.requestedBy,
      p.state.rawValue, p.createdAt, p.updatedAt, p.finishedAt, p.attempt, steps, context, p.decidedBy, p.outcome,
    ]
  }

  static func plan(_ r: StoreRow) throws -> RepairPlan {
    var p = RepairPlan(
      id: try r["id"], cluster: try r["cluster"], member: try r["member"],
      runbook: Runbook(rawValue: try r["runbook"]) ?? .restartMember,
      fault: (try r["fault"] as String?).flatMap(Fault.init), reason: try r["reason"], incidentID: try r["incidentId"],
      requestedBy: try r["requestedBy"], state: PlanState(rawValue: try r["state"]) ?? .abandoned,
      at: try r["createdAt"], attempt: try r["attempt"],
      steps: (try? JSONDecoder().decode([PlanStep].self, from: Data((try r["steps"] as String).utf8))) ?? [])
    p.updatedAt = try r["updatedAt"]
    p.finishedAt = try r["finishedAt"]
    p.context = (try? JSONDecoder().decode([String: String].self, from: Data((try r["context"] as String).utf8))) ?? [:]
    p.decidedBy = try r["decidedBy"]
    p.outcome = try r["outcome"]
    return p
  }

  // MARK: audit

  /// Appends an entry, chaining it to the last one; returns it with its sequence number and hash. Replicas sharing
  /// a store append one at a time.
  @discardableResult
  public func append(audit entry: AuditEntry) async throws -> AuditEntry {
    try await write { db in
      try db.serialize(.audit)
      var e = entry
      let last = try db.row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
      e.seq = (try last?["seq"] as Int64? ?? 0) + 1
      e.prevHash = try last?["hash"] ?? ""
      e.hash = e.computedHash
      try db.execute(
        """
        INSERT INTO audit (seq, at, actor, action, cluster, subject, incidentId, planId, runbook, step, inputs, result,
          reason, prevHash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
        """,
        [
          e.seq, e.at, e.actor, e.action, e.cluster, e.subject, e.incidentID, e.planID, e.runbook, e.step, e.inputs,
          e.result, e.reason, e.prevHash, e.hash,
        ])
      return e
    }
  }

  /// Audit entries, newest first (`ascending` for the whole log in order).
  public func audit(cluster: String? = nil, planID: Int64? = nil, limit: Int = 100, ascending: Bool = false) async throws
    -> [AuditEntry]
  {
    try await read { db in
      try db.rows(
        """
        SELECT * FROM audit WHERE (? IS NULL OR cluster = ?) AND (? IS NULL OR planId = ?)
        ORDER BY seq \(ascending ? "ASC" : "DESC") LIMIT ?
        """,
        [cluster, cluster, planID, planID, limit]
      ).map(Self.auditEntry)
    }
  }

  /// Recomputes every hash and link, oldest first; reports the first entry that does not match.
  public func verifyAudit() async throws -> AuditVerification {
    try await read { db in
      var previous = ""
      var expectedSeq: Int64 = 1
      var count = 0
      // In pages, so a long log is never held whole in memory.
      while true {
        let page = try db.rows("SELECT * FROM audit WHERE seq >= ? ORDER BY seq ASC LIMIT 1000", [expectedSeq])
        if page.isEmpty { return AuditVerification(entries: count, ok: true) }
        for row in page {
          let e = try Self.auditEntry(row)
          count += 1
          var problem: String?
          if e.seq != expectedSeq {
            problem = "entry \(expectedSeq) is missing (found \(e.seq) next)"
          } else if e.prevHash != previous {
            problem = "entry \(e.seq) does not link to the entry before it"
          } else if e.hash != e.computedHash {
            problem = "entry \(e.seq) was altered: its hash does not match its contents"
          }
          if let problem { return AuditVerification(entries: count, ok: false, firstBadSeq: e.seq, problem: problem) }
          previous = e.hash
          expectedSeq += 1
        }
      }
    }
  }

  static func auditEntry(_ r: StoreRow) throws -> AuditEntry {
    var e = AuditEntry(
      at: try r["at"], actor: try r["actor"], action: try r["action"], cluster: try r["cluster"],
      subject: try r["subject"], incidentID: try r["incidentId"], planID: try r["planId"], runbook: try r["runbook"],
      step: try r["step"], inputs: try r["inputs"], result: try r["result"], reason: try r["reason"])
    e.seq = try r["seq"]
    e.prevHash = try r["prevHash"]
    e.hash = try r["hash"]
    return e
  }

  // MARK: control

  /// Pauses or resumes automatic repair of `cluster` (kept across restarts).
  public func setPaused(cluster: String, _ paused: Bool, by: String, at: Double) async throws {
    try await write { db in
      try db.execute(
        """
        INSERT INTO repairControl (cluster, paused, updatedAt, updatedBy) VALUES (?,?,?,?)
        ON CONFLICT (cluster) DO UPDATE SET paused = excluded.paused, updatedAt = excluded.updatedAt,
          updatedBy = excluded.updatedBy
        """, [cluster, paused, at, by])
    }
  }

  public func pausedClusters() async throws -> Set<String> {
    try await read { db in Set(try db.rows("SELECT cluster FROM repairControl WHERE paused").map { try $0["cluster"] }) }
  }

  /// Adds a repair event to a stored incident (one already closed, e.g. a replaced member's) and its recovery time.
  public func annotate(incident id: Int64, _ event: IncidentEvent, recoveredAt: Double?) async throws {
    try await write { db in
      try db.execute(
        "INSERT INTO incidentEvent (incidentId, at, kind, text) SELECT ?,?,?,? WHERE EXISTS (SELECT 1 FROM incident WHERE id = ?)",
        [id, event.at, event.kind, event.text, id])
      if let recoveredAt {
        try db.execute("UPDATE incident SET recoveredAt = COALESCE(recoveredAt, ?) WHERE id = ?", [recoveredAt, id])
      }
    }
  }
}
