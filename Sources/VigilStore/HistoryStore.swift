import Foundation
import GRDB
import Logging
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

/// Vigil's history: probe results and their per-minute rollups, health transitions, inspection findings,
/// incidents and their timelines, the repair journal and audit log, API tokens. In SQLite (GRDB, WAL journal;
/// the single-node default) or in PostgreSQL (shared by every replica that names it). Every write is one
/// transaction, so a `kill -9` loses at most the batch being written and never corrupts what is stored.
public final class HistoryStore: Sendable {
  /// Where the data is: the SQLite file, or the PostgreSQL address (without its password).
  public let path: String
  let database: any StoreDatabase

  public var dialect: StoreDialect { database.dialect }

  /// Opens (creating if needed) `directory/vigil.sqlite` and migrates it to the current schema.
  public init(directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let sqlite = try SQLiteStoreDatabase(path: (directory as NSString).appendingPathComponent("vigil.sqlite"))
    try Self.migrator.migrate(sqlite.pool)
    database = sqlite
    path = sqlite.location
  }

  /// Connects to a PostgreSQL database and migrates it to the current schema (under a lock, so replicas starting
  /// together do it once).
  public init(postgres address: PostgresAddress, logger: Logger = Logger(label: "vigil.store")) async throws {
    let postgres = PostgresStoreDatabase(address: address, logger: logger)
    try await PostgresSchema.migrate(postgres)
    database = postgres
    path = postgres.location
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
  public func appliedMigrations() async throws -> [String] {
    if let sqlite = database as? SQLiteStoreDatabase {
      return try await sqlite.pool.read { db in try Self.migrator.appliedMigrations(db) }
    }
    return try await read { db in try db.rows("SELECT name FROM schemaMigration ORDER BY name").map { try $0["name"] } }
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
          """
          INSERT INTO finding (at, cluster, member, checkName, severity, summary, evidence, action)
          VALUES (?,?,?,?,?,?,?,?)
          """,
          [at, f.cluster, f.member, f.check, f.severity.rawValue, f.summary, Self.json(f.evidence), f.action])
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

  /// Where this process's incident ids start. SQLite: after the highest stored. PostgreSQL, where replicas open
  /// incidents side by side: the start of a block of 2^20 ids that no other process (or start) is given.
  public func nextIncidentID() async throws -> Int64 {
    switch dialect {
    case .sqlite:
      return try await read { db in (try db.value("SELECT MAX(id) FROM incident") ?? 0) + 1 }
    case .postgres:
      return try await write { db in
        let block: Int64 = try db.value("SELECT nextval('incidentIdBlock')") ?? 0
        return block * Self.incidentIDBlock + 1
      }
    }
  }

  /// The size of the incident-id blocks PostgreSQL hands out.
  static let incidentIDBlock: Int64 = 1 << 20

  static func save(_ change: IncidentChange, _ db: any StoreSession) throws {
    let i = change.incident
    let events: [IncidentEvent]
    switch change {
    case .opened:
      try db.execute(
        """
        INSERT INTO incident (id, cluster, subject, member, openedAt, onsetAt, detectedAt, closedAt, worst, fault, diagnosis)
        VALUES (?,?,?,?,?,?,?,?,?,?,?)
        """,
        [
          i.id, i.cluster, i.subject, i.member, i.openedAt, i.onsetAt, i.detectedAt, i.closedAt, i.worst.rawValue,
          i.fault?.rawValue, i.diagnosis,
        ])
      events = i.timeline
    case .updated(_, let added), .closed(_, let added):
      try db.execute(
        """
        UPDATE incident SET detectedAt = ?, closedAt = ?, worst = ?, fault = ?, diagnosis = ?,
          recoveredAt = COALESCE(recoveredAt, ?) WHERE id = ?
        """,
        [i.detectedAt, i.closedAt, i.worst.rawValue, i.fault?.rawValue, i.diagnosis, i.recoveredAt, i.id])
      events = added
    }
    for e in events {
      try db.execute("INSERT INTO incidentEvent (incidentId, at, kind, text) VALUES (?,?,?,?)", [i.id, e.at, e.kind, e.text])
    }
  }

  static func insert(_ results: [StoredResult], _ db: any StoreSession) throws {
    // In rows of up to 500 per statement (one round trip each on PostgreSQL).
    for start in stride(from: 0, to: results.count, by: 500) {
      let batch = results[start..<min(start + 500, results.count)]
      var arguments: [any SQLBindable] = []
      arguments.reserveCapacity(batch.count * 8)
      for r in batch {
        arguments += [r.at, r.cluster, r.subject, r.probe, r.ok, r.failure, r.latency, r.message] as [any SQLBindable]
      }
      try db.execute(
        "INSERT INTO result (at, cluster, subject, probe, ok, failure, latency, message) VALUES "
          + Array(repeating: "(?,?,?,?,?,?,?,?)", count: batch.count).joined(separator: ","), arguments)
    }
  }

  static func insert(_ t: StoredTransition, _ db: any StoreSession) throws {
    try db.execute(
      "INSERT INTO transition (at, cluster, subject, fromState, toState, evidence) VALUES (?,?,?,?,?,?)",
      [t.at, t.cluster, t.subject, t.from.rawValue, t.to.rawValue, json(t.evidence)])
  }

  // MARK: reads

  /// Incidents, newest first, with their timelines.
  public func incidents(openOnly: Bool = false, cluster: String? = nil, limit: Int = 100) async throws -> [Incident] {
    try await read { db in
      var sql = "SELECT * FROM incident WHERE 1=1"
      var args: [any SQLBindable] = []
      if openOnly { sql += " AND closedAt IS NULL" }
      if let cluster {
        sql += " AND cluster = ?"
        args.append(cluster)
      }
      sql += " ORDER BY openedAt DESC, id DESC LIMIT ?"
      args.append(limit)
      return try db.rows(sql, args).map { row in try Self.incident(row, db) }
    }
  }

  public func incident(id: Int64) async throws -> Incident? {
    try await read { db in
      try db.row("SELECT * FROM incident WHERE id = ?", [id]).map { try Self.incident($0, db) }
    }
  }

  public func transitions(cluster: String? = nil, limit: Int = 100) async throws -> [StoredTransition] {
    try await read { db in
      try db.rows(
        "SELECT * FROM transition WHERE (? IS NULL OR cluster = ?) ORDER BY at DESC, id DESC LIMIT ?",
        [cluster, cluster, limit]
      ).map { r in
        StoredTransition(
          at: try r["at"], cluster: try r["cluster"], subject: try r["subject"],
          from: HealthState(rawValue: try r["fromState"]) ?? .unknown,
          to: HealthState(rawValue: try r["toState"]) ?? .unknown, evidence: Self.strings(try r["evidence"]))
      }
    }
  }

  /// The findings of the most recent inspection of each cluster.
  public func latestFindings(cluster: String? = nil) async throws -> [Finding] {
    try await read { db in
      try db.rows(
        """
        SELECT f.* FROM finding f
        JOIN (SELECT cluster, MAX(at) AS at FROM finding GROUP BY cluster) latest
          ON latest.cluster = f.cluster AND latest.at = f.at
        WHERE (? IS NULL OR f.cluster = ?) ORDER BY f.cluster, f.id
        """,
        [cluster, cluster]
      ).map { r in
        Finding(
          check: try r["checkName"], cluster: try r["cluster"], member: try r["member"],
          severity: Severity(rawValue: try r["severity"]) ?? .warning, summary: try r["summary"],
          evidence: Self.strings(try r["evidence"]), action: try r["action"])
      }
    }
  }

  public func recentResults(subject: String? = nil, limit: Int = 100) async throws -> [StoredResult] {
    try await read { db in
      try db.rows(
        "SELECT * FROM result WHERE (? IS NULL OR subject = ?) ORDER BY at DESC, id DESC LIMIT ?", [subject, subject, limit]
      ).map { r in
        StoredResult(
          at: try r["at"], cluster: try r["cluster"], subject: try r["subject"], probe: try r["probe"], ok: try r["ok"],
          failure: try r["failure"], latency: try r["latency"], message: try r["message"])
      }
    }
  }

  public func rollups(limit: Int = 1000) async throws -> [ResultRollup] {
    try await read { db in
      try db.rows("SELECT * FROM resultRollup ORDER BY minute DESC LIMIT ?", [limit]).map { r in
        ResultRollup(
          minute: try r["minute"], cluster: try r["cluster"], subject: try r["subject"], probe: try r["probe"],
          count: try r["count"], failures: try r["failures"], latencySum: try r["latencySum"],
          latencyMax: try r["latencyMax"])
      }
    }
  }

  /// Row counts per table (for tests, `/status` and bounding the file).
  public func counts() async throws -> [String: Int] {
    try await read { db in
      var out: [String: Int] = [:]
      for table in ["result", "resultRollup", "transition", "finding", "incident", "incidentEvent", "repairPlan", "audit"] {
        out[table] = try db.value("SELECT COUNT(*) FROM \(table)") ?? 0
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
      // Replicas sharing a store compact one at a time (or two would fold the same rows twice).
      try db.serialize(.compaction)
      var report = CompactionReport()
      var cutoff = now - policy.rawResults.seconds
      let total: Int = try db.value("SELECT COUNT(*) FROM result") ?? 0
      if total > policy.maxRawResults {
        // Fold the oldest rows beyond the cap too.
        let excess = total - policy.maxRawResults
        if let at: Double = try db.value("SELECT at FROM result ORDER BY at ASC LIMIT 1 OFFSET ?", [excess - 1]) {
          cutoff = max(cutoff, at + 1e-9)
        }
      }
      let minute = db.dialect == .sqlite ? "CAST(at / 60 AS INTEGER)" : "CAST(FLOOR(at / 60) AS BIGINT)"
      let larger = db.dialect == .sqlite ? "MAX" : "GREATEST"
      try db.execute(
        """
        INSERT INTO resultRollup (minute, cluster, subject, probe, count, failures, latencySum, latencyMax)
        SELECT \(minute), cluster, subject, probe, COUNT(*), SUM(CASE WHEN ok THEN 0 ELSE 1 END),
               SUM(latency), MAX(latency)
        FROM result WHERE at < ? GROUP BY \(minute), cluster, subject, probe
        ON CONFLICT (minute, cluster, subject, probe) DO UPDATE SET
          count = resultRollup.count + excluded.count, failures = resultRollup.failures + excluded.failures,
          latencySum = resultRollup.latencySum + excluded.latencySum,
          latencyMax = \(larger)(resultRollup.latencyMax, excluded.latencyMax)
        """, [cutoff])
      report.rolledUp = try db.execute("DELETE FROM result WHERE at < ?", [cutoff])
      report.droppedRollups = try db.execute(
        "DELETE FROM resultRollup WHERE minute < ?", [Int64((now - policy.rollups.seconds) / 60)])
      let eventCutoff = now - policy.events.seconds
      report.droppedEvents += try db.execute("DELETE FROM transition WHERE at < ?", [eventCutoff])
      report.droppedEvents += try db.execute("DELETE FROM finding WHERE at < ?", [eventCutoff])
      try db.execute(
        "DELETE FROM incidentEvent WHERE incidentId IN (SELECT id FROM incident WHERE closedAt < ?)", [eventCutoff])
      report.droppedEvents += try db.execute("DELETE FROM incident WHERE closedAt < ?", [eventCutoff])
      return report
    }
  }

  // MARK: helpers

  /// One write transaction that runs to the end even if the caller is cancelled
  /// (a shutting-down monitor must not lose its last incident update).
  @discardableResult
  func write<T: Sendable>(_ body: @escaping @Sendable (any StoreSession) throws -> T) async throws -> T {
    try await database.write(body)
  }

  func read<T: Sendable>(_ body: @escaping @Sendable (any StoreSession) throws -> T) async throws -> T {
    try await database.read(body)
  }

  static func incident(_ row: StoreRow, _ db: any StoreSession) throws -> Incident {
    let id: Int64 = try row["id"]
    let events = try db.rows("SELECT at, kind, text FROM incidentEvent WHERE incidentId = ? ORDER BY at, id", [id]).map {
      IncidentEvent(at: try $0["at"], kind: try $0["kind"], text: try $0["text"])
    }
    return Incident(
      id: id, cluster: try row["cluster"], subject: try row["subject"], member: try row["member"],
      openedAt: try row["openedAt"], onsetAt: try row["onsetAt"], detectedAt: try row["detectedAt"],
      closedAt: try row["closedAt"], worst: HealthState(rawValue: try row["worst"]) ?? .unknown,
      fault: (try row["fault"] as String?).flatMap(Fault.init), diagnosis: try row["diagnosis"], timeline: events,
      recoveredAt: try row["recoveredAt"])
  }

  static func json(_ strings: [String]) -> String {
    (try? String(decoding: JSONEncoder().encode(strings), as: UTF8.self)) ?? "[]"
  }

  static func strings(_ text: String) -> [String] {
    (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
  }
}
