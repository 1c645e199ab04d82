import Foundation
import GRDB
import VigilCore

/// One probe result as stored.
public struct StoredResult: Sendable, Hashable {
  /// Seconds since 1970.
  public var at: Double
  public var cluster: String
  /// `cluster` or `cluster/member`.
  public var subject: String
  public var probe: String
  public var ok: Bool
  public var failure: String?
  public var latency: Double
  public var message: String

  public init(
    at: Double, cluster: String, subject: String, probe: String, ok: Bool, failure: String?, latency: Double,
    message: String
  ) {
    self.at = at
    self.cluster = cluster
    self.subject = subject
    self.probe = probe
    self.ok = ok
    self.failure = failure
    self.latency = latency
    self.message = message
  }
}

/// A health transition as stored.
public struct StoredTransition: Sendable, Hashable, Codable {
  public var at: Double
  public var cluster: String
  public var subject: String
  public var from: HealthState
  public var to: HealthState
  public var evidence: [String]

  public init(at: Double, cluster: String, subject: String, from: HealthState, to: HealthState, evidence: [String]) {
    self.at = at
    self.cluster = cluster
    self.subject = subject
    self.from = from
    self.to = to
    self.evidence = evidence
  }
}

/// Per-minute aggregate of older results.
public struct ResultRollup: Sendable, Hashable, Codable {
  public var minute: Int64
  public var cluster: String
  public var subject: String
  public var probe: String
  public var count: Int
  public var failures: Int
  public var latencySum: Double
  public var latencyMax: Double
}

/// How long history is kept.
public struct RetentionPolicy: Sendable, Hashable {
  /// Raw probe results are kept this long, then folded into per-minute rollups.
  public var rawResults: Duration = .seconds(6 * 3600)
  /// Rollups are kept this long.
  public var rollups: Duration = .seconds(30 * 86_400)
  /// Transitions, findings and closed incidents are kept this long.
  public var events: Duration = .seconds(90 * 86_400)
  /// Raw results beyond this count are folded early (keeps the file bounded under any probe rate).
  public var maxRawResults = 2_000_000

  public init() {}
}

/// What one compaction did.
public struct CompactionReport: Sendable, Hashable {
  public var rolledUp = 0
  public var droppedRollups = 0
  public var droppedEvents = 0
}

/// Vigil's history in SQLite (GRDB, WAL journal): probe results and their
/// per-minute rollups, health transitions, inspection findings, incidents and
/// their timelines. Every write is one transaction, so a `kill -9` loses at
/// most the batch being written and never corrupts what is stored.
public final class HistoryStore: Sendable {
  public let path: String
  let pool: DatabasePool

  /// Opens (creating if needed) `directory/vigil.sqlite` and migrates it to the current schema.
  public init(directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    path = (directory as NSString).appendingPathComponent("vigil.sqlite")
    var config = Configuration()
    config.busyMode = .timeout(5)
    config.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
    }
    pool = try DatabasePool(path: path, configuration: config)
    try Self.migrator.migrate(pool)
  }

  /// Schema versions, oldest first. Never edit a shipped migration; add one.
  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1-history") { db in
      try db.create(table: "result") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("at", .double).notNull().indexed()
        t.column("cluster", .text).notNull()
        t.column("subject", .text).notNull()
        t.column("probe", .text).notNull()
        t.column("ok", .boolean).notNull()
        t.column("failure", .text)
        t.column("latency", .double).notNull()
        t.column("message", .text).notNull()
      }
      try db.create(table: "resultRollup") { t in
        t.column("minute", .integer).notNull()
        t.column("cluster", .text).notNull()
        t.column("subject", .text).notNull()
        t.column("probe", .text).notNull()
        t.column("count", .integer).notNull()
        t.column("failures", .integer).notNull()
        t.column("latencySum", .double).notNull()
        t.column("latencyMax", .double).notNull()
        t.primaryKey(["minute", "cluster", "subject", "probe"])
      }
      try db.create(table: "transition") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("at", .double).notNull().indexed()
        t.column("cluster", .text).notNull()
        t.column("subject", .text).notNull()
        t.column("fromState", .text).notNull()
        t.column("toState", .text).notNull()
        t.column("evidence", .text).notNull()
      }
      try db.create(table: "finding") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("at", .double).notNull().indexed()
        t.column("cluster", .text).notNull()
        t.column("member", .text)
        t.column("checkName", .text).notNull()
        t.column("severity", .text).notNull()
        t.column("summary", .text).notNull()
        t.column("evidence", .text).notNull()
        t.column("action", .text).notNull()
      }
      try db.create(table: "incident") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("cluster", .text).notNull()
        t.column("subject", .text).notNull()
        t.column("member", .text)
        t.column("openedAt", .double).notNull().indexed()
        t.column("onsetAt", .double).notNull()
        t.column("detectedAt", .double)
        t.column("closedAt", .double)
        t.column("worst", .text).notNull()
        t.column("fault", .text)
        t.column("diagnosis", .text)
      }
      try db.create(table: "incidentEvent") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("incidentId", .integer).notNull().indexed().references("incident", onDelete: .cascade)
        t.column("at", .double).notNull()
        t.column("kind", .text).notNull()
        t.column("text", .text).notNull()
      }
    }
    m.registerMigration("v2-repair") { db in try Self.createRepairTables(db) }
    m.registerMigration("v3-sites") { db in try Self.createSiteTables(db) }
    m.registerMigration("v4-tokens") { db in try Self.createTokenTables(db) }
    return m
  }

  /// Names of the migrations applied, oldest first.
  public func appliedMigrations() throws -> [String] {
    try pool.read { db in try Self.migrator.appliedMigrations(db) }
  }

  // MARK: writes

  public func record(results: [StoredResult]) async throws {
    guard !results.isEmpty else { return }
    try await write { db in try Self.insert(results, db) }
  }

  public func record(transition t: StoredTransition) async throws {
    try await write { db in try Self.insert(t, db) }
  }

  public func record(findings: [Finding], at: Double) async throws {
    guard !findings.isEmpty else { return }
    try await write { db in
      for f in findings {
        try db.execute(
          sql: """
            INSERT INTO finding (at, cluster, member, checkName, severity, summary, evidence, action)
            VALUES (?,?,?,?,?,?,?,?)
            """,
          arguments: [at, f.cluster, f.member, f.check, f.severity.rawValue, f.summary, Self.json(f.evidence), f.action])
      }
    }
  }

  /// Stores an incident change (the incident carries its id).
  public func save(_ change: IncidentChange) async throws {
    try await write { db in try Self.save(change, db) }
  }

  /// Stores results, transitions and incident changes in one transaction, in order.
  public func record(results: [StoredResult], transitions: [StoredTransition], incidents: [IncidentChange]) async throws {
    guard !results.isEmpty || !transitions.isEmpty || !incidents.isEmpty else { return }
    try await write { db in
      try Self.insert(results, db)
      for t in transitions { try Self.insert(t, db) }
      for change in incidents { try Self.save(change, db) }
    }
  }

  /// The id after the highest incident id stored.
  public func nextIncidentID() throws -> Int64 {
    try pool.read { db in (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM incident") ?? 0) + 1 }
  }

  static func save(_ change: IncidentChange, _ db: Database) throws {
    let i = change.incident
    let events: [IncidentEvent]
    switch change {
    case .opened:
      try db.execute(
        sql: """
          INSERT INTO incident (id, cluster, subject, member, openedAt, onsetAt, detectedAt, closedAt, worst, fault, diagnosis)
          VALUES (?,?,?,?,?,?,?,?,?,?,?)
          """,
        arguments: [
          i.id, i.cluster, i.subject, i.member, i.openedAt, i.onsetAt, i.detectedAt, i.closedAt, i.worst.rawValue,
          i.fault?.rawValue, i.diagnosis,
        ])
      events = i.timeline
    case .updated(_, let added), .closed(_, let added):
      try db.execute(
        sql: """
          UPDATE incident SET detectedAt = ?, closedAt = ?, worst = ?, fault = ?, diagnosis = ?,
            recoveredAt = COALESCE(recoveredAt, ?) WHERE id = ?
          """,
        arguments: [i.detectedAt, i.closedAt, i.worst.rawValue, i.fault?.rawValue, i.diagnosis, i.recoveredAt, i.id])
      events = added
    }
    for e in events {
      try db.execute(
        sql: "INSERT INTO incidentEvent (incidentId, at, kind, text) VALUES (?,?,?,?)",
        arguments: [i.id, e.at, e.kind, e.text])
    }
  }

  static func insert(_ results: [StoredResult], _ db: Database) throws {
    guard !results.isEmpty else { return }
    let statement = try db.cachedStatement(
      sql: "INSERT INTO result (at, cluster, subject, probe, ok, failure, latency, message) VALUES (?,?,?,?,?,?,?,?)")
    for r in results {
      try statement.execute(arguments: [r.at, r.cluster, r.subject, r.probe, r.ok, r.failure, r.latency, r.message])
    }
  }

  static func insert(_ t: StoredTransition, _ db: Database) throws {
    try db.execute(
      sql: "INSERT INTO transition (at, cluster, subject, fromState, toState, evidence) VALUES (?,?,?,?,?,?)",
      arguments: [t.at, t.cluster, t.subject, t.from.rawValue, t.to.rawValue, json(t.evidence)])
  }

  // MARK: reads

  /// Incidents, newest first, with their timelines.
  public func incidents(openOnly: Bool = false, cluster: String? = nil, limit: Int = 100) throws -> [Incident] {
    try pool.read { db in
      var sql = "SELECT * FROM incident WHERE 1=1"
      var args: [(any DatabaseValueConvertible)?] = []
      if openOnly { sql += " AND closedAt IS NULL" }
      if let cluster {
        sql += " AND cluster = ?"
        args.append(cluster)
      }
      sql += " ORDER BY openedAt DESC, id DESC LIMIT ?"
      args.append(limit)
      let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args))
      return try rows.map { row in try Self.incident(row, db) }
    }
  }

  public func incident(id: Int64) throws -> Incident? {
    try pool.read { db in
      try Row.fetchOne(db, sql: "SELECT * FROM incident WHERE id = ?", arguments: [id]).map { try Self.incident($0, db) }
    }
  }

  public func transitions(cluster: String? = nil, limit: Int = 100) throws -> [StoredTransition] {
    try pool.read { db in
      let rows = try Row.fetchAll(
        db,
        sql: "SELECT * FROM transition WHERE (? IS NULL OR cluster = ?) ORDER BY at DESC, id DESC LIMIT ?",
        arguments: [cluster, cluster, limit])
      return rows.map { r in
        StoredTransition(
          at: r["at"], cluster: r["cluster"], subject: r["subject"],
          from: HealthState(rawValue: r["fromState"]) ?? .unknown, to: HealthState(rawValue: r["toState"]) ?? .unknown,
          evidence: Self.strings(r["evidence"]))
      }
    }
  }

  /// The findings of the most recent inspection of each cluster.
  public func latestFindings(cluster: String? = nil) throws -> [Finding] {
    try pool.read { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT f.* FROM finding f
          JOIN (SELECT cluster, MAX(at) AS at FROM finding GROUP BY cluster) latest
            ON latest.cluster = f.cluster AND latest.at = f.at
          WHERE (? IS NULL OR f.cluster = ?) ORDER BY f.cluster, f.id
          """,
        arguments: [cluster, cluster])
      return rows.map { r in
        Finding(
          check: r["checkName"], cluster: r["cluster"], member: r["member"],
          severity: Severity(rawValue: r["severity"]) ?? .warning, summary: r["summary"],
          evidence: Self.strings(r["evidence"]), action: r["action"])
      }
    }
  }

  public func recentResults(subject: String? = nil, limit: Int = 100) throws -> [StoredResult] {
    try pool.read { db in
      try Row.fetchAll(
        db, sql: "SELECT * FROM result WHERE (? IS NULL OR subject = ?) ORDER BY at DESC, id DESC LIMIT ?",
        arguments: [subject, subject, limit]
      ).map { r in
        StoredResult(
          at: r["at"], cluster: r["cluster"], subject: r["subject"], probe: r["probe"], ok: r["ok"],
          failure: r["failure"], latency: r["latency"], message: r["message"])
      }
    }
  }

  public func rollups(limit: Int = 1000) throws -> [ResultRollup] {
    try pool.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM resultRollup ORDER BY minute DESC LIMIT ?", arguments: [limit]).map { r in
        ResultRollup(
          minute: r["minute"], cluster: r["cluster"], subject: r["subject"], probe: r["probe"], count: r["count"],
          failures: r["failures"], latencySum: r["latencySum"], latencyMax: r["latencyMax"])
      }
    }
  }

  /// Row counts per table (for tests, `/status` and bounding the file).
  public func counts() throws -> [String: Int] {
    try pool.read { db in
      var out: [String: Int] = [:]
      for table in ["result", "resultRollup", "transition", "finding", "incident", "incidentEvent", "repairPlan", "audit"] {
        out[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
      }
      return out
    }
  }

  // MARK: retention

  /// Folds raw results older than the raw window (or beyond the row cap) into
  /// per-minute rollups, and drops rollups and events past their windows.
  @discardableResult
  public func compact(now: Double, policy: RetentionPolicy) async throws -> CompactionReport {
    try await write { db in
      var report = CompactionReport()
      var cutoff = now - policy.rawResults.seconds
      let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM result") ?? 0
      if total > policy.maxRawResults {
        // Fold the oldest rows beyond the cap too.
        let excess = total - policy.maxRawResults
        if let at = try Double.fetchOne(
          db, sql: "SELECT at FROM result ORDER BY at ASC LIMIT 1 OFFSET ?", arguments: [excess - 1])
        {
          cutoff = max(cutoff, at + 1e-9)
        }
      }
      try db.execute(
        sql: """
          INSERT INTO resultRollup (minute, cluster, subject, probe, count, failures, latencySum, latencyMax)
          SELECT CAST(at / 60 AS INTEGER), cluster, subject, probe, COUNT(*), SUM(CASE WHEN ok THEN 0 ELSE 1 END),
                 SUM(latency), MAX(latency)
          FROM result WHERE at < ? GROUP BY CAST(at / 60 AS INTEGER), cluster, subject, probe
          ON CONFLICT (minute, cluster, subject, probe) DO UPDATE SET
            count = count + excluded.count, failures = failures + excluded.failures,
            latencySum = latencySum + excluded.latencySum, latencyMax = MAX(latencyMax, excluded.latencyMax)
          """, arguments: [cutoff])
      try db.execute(sql: "DELETE FROM result WHERE at < ?", arguments: [cutoff])
      report.rolledUp = db.changesCount
      try db.execute(
        sql: "DELETE FROM resultRollup WHERE minute < ?", arguments: [Int64((now - policy.rollups.seconds) / 60)])
      report.droppedRollups = db.changesCount
      let eventCutoff = now - policy.events.seconds
      try db.execute(sql: "DELETE FROM transition WHERE at < ?", arguments: [eventCutoff])
      report.droppedEvents += db.changesCount
      try db.execute(sql: "DELETE FROM finding WHERE at < ?", arguments: [eventCutoff])
      report.droppedEvents += db.changesCount
      try db.execute(sql: "DELETE FROM incidentEvent WHERE incidentId IN (SELECT id FROM incident WHERE closedAt < ?)", arguments: [eventCutoff])
      try db.execute(sql: "DELETE FROM incident WHERE closedAt < ?", arguments: [eventCutoff])
      report.droppedEvents += db.changesCount
      return report
    }
  }

  // MARK: helpers

  /// One write transaction that runs to the end even if the caller is cancelled
  /// (a shutting-down monitor must not lose its last incident update).
  func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    let pool = self.pool
    return try await Task { try await pool.write(body) }.value
  }

  static func incident(_ row: Row, _ db: Database) throws -> Incident {
    let id: Int64 = row["id"]
    let events = try Row.fetchAll(
      db, sql: "SELECT at, kind, text FROM incidentEvent WHERE incidentId = ? ORDER BY at, id", arguments: [id]
    ).map { IncidentEvent(at: $0["at"], kind: $0["kind"], text: $0["text"]) }
    return Incident(
      id: id, cluster: row["cluster"], subject: row["subject"], member: row["member"], openedAt: row["openedAt"],
      onsetAt: row["onsetAt"], detectedAt: row["detectedAt"], closedAt: row["closedAt"],
      worst: HealthState(rawValue: row["worst"]) ?? .unknown, fault: (row["fault"] as String?).flatMap(Fault.init),
      diagnosis: row["diagnosis"], timeline: events, recoveredAt: row["recoveredAt"])
  }

  static func json(_ strings: [String]) -> String {
    (try? String(decoding: JSONEncoder().encode(strings), as: UTF8.self)) ?? "[]"
  }

  static func strings(_ text: String) -> [String] {
    (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
  }
}
