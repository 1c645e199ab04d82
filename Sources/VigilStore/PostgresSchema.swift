import Foundation

/// The history store's schema in PostgreSQL: the same tables and columns as SQLite's (names fold to lower case,
/// which the store's row lookups ignore). Migrations run once each, in order, under a lock every replica takes.
enum PostgresSchema {
  /// Never edit a shipped migration; add one.
  static let migrations: [(name: String, sql: [String])] = [
    (
      "pg1-history",
      [
        """
        CREATE TABLE result (
          id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, cluster TEXT NOT NULL, subject TEXT NOT NULL,
          probe TEXT NOT NULL, ok BOOLEAN NOT NULL, failure TEXT, latency DOUBLE PRECISION NOT NULL, message TEXT NOT NULL)
        """,
        "CREATE INDEX result_at ON result (at)",
        "CREATE INDEX result_subject ON result (subject, at)",
        """
        CREATE TABLE resultRollup (
          minute BIGINT NOT NULL, cluster TEXT NOT NULL, subject TEXT NOT NULL, probe TEXT NOT NULL, count BIGINT NOT NULL,
          failures BIGINT NOT NULL, latencySum DOUBLE PRECISION NOT NULL, latencyMax DOUBLE PRECISION NOT NULL,
          PRIMARY KEY (minute, cluster, subject, probe))
        """,
        """
        CREATE TABLE transition (
          id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, cluster TEXT NOT NULL, subject TEXT NOT NULL,
          fromState TEXT NOT NULL, toState TEXT NOT NULL, evidence TEXT NOT NULL)
        """,
        "CREATE INDEX transition_at ON transition (at)",
        """
        CREATE TABLE finding (
          id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, cluster TEXT NOT NULL, member TEXT,
          checkName TEXT NOT NULL, severity TEXT NOT NULL, summary TEXT NOT NULL, evidence TEXT NOT NULL,
          action TEXT NOT NULL)
        """,
        "CREATE INDEX finding_at ON finding (at)",
        """
        CREATE TABLE incident (
          id BIGINT PRIMARY KEY, cluster TEXT NOT NULL, subject TEXT NOT NULL, member TEXT,
          openedAt DOUBLE PRECISION NOT NULL, onsetAt DOUBLE PRECISION NOT NULL, detectedAt DOUBLE PRECISION,
          closedAt DOUBLE PRECISION, worst TEXT NOT NULL, fault TEXT, diagnosis TEXT, recoveredAt DOUBLE PRECISION)
        """,
        "CREATE INDEX incident_openedAt ON incident (openedAt)",
        // Incident ids come in blocks of 2^20 per process start (`HistoryStore.nextIncidentID`).
        "CREATE SEQUENCE incidentIdBlock START 1",
        """
        CREATE TABLE incidentEvent (
          id BIGSERIAL PRIMARY KEY, incidentId BIGINT NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
          at DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL)
        """,
        "CREATE INDEX incidentEvent_incident ON incidentEvent (incidentId)",
        """
        CREATE TABLE repairPlan (
          id BIGSERIAL PRIMARY KEY, cluster TEXT NOT NULL, member TEXT, runbook TEXT NOT NULL, fault TEXT,
          reason TEXT NOT NULL, incidentId BIGINT, requestedBy TEXT NOT NULL, state TEXT NOT NULL,
          createdAt DOUBLE PRECISION NOT NULL, updatedAt DOUBLE PRECISION NOT NULL, finishedAt DOUBLE PRECISION,
          attempt BIGINT NOT NULL, steps TEXT NOT NULL, context TEXT NOT NULL, decidedBy TEXT, outcome TEXT)
        """,
        "CREATE INDEX repairPlan_cluster ON repairPlan (cluster)",
        "CREATE INDEX repairPlan_state ON repairPlan (state)",
        """
        CREATE TABLE audit (
          seq BIGINT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
          cluster TEXT NOT NULL, subject TEXT, incidentId BIGINT, planId BIGINT, runbook TEXT, step TEXT,
          inputs TEXT NOT NULL, result TEXT NOT NULL, reason TEXT NOT NULL, prevHash TEXT NOT NULL, hash TEXT NOT NULL)
        """,
        "CREATE INDEX audit_cluster ON audit (cluster)",
        // The log is append-only for Vigil: updates and deletes are refused by the database itself.
        """
        CREATE FUNCTION auditAppendOnly() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$
        """,
        "CREATE TRIGGER auditNoChange BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION auditAppendOnly()",
        """
        CREATE TABLE repairControl (
          cluster TEXT PRIMARY KEY, paused BOOLEAN NOT NULL, updatedAt DOUBLE PRECISION NOT NULL, updatedBy TEXT NOT NULL)
        """,
        """
        CREATE TABLE activeSide (
          cluster TEXT PRIMARY KEY, active TEXT NOT NULL, fenced TEXT, changedAt DOUBLE PRECISION NOT NULL,
          changedBy TEXT NOT NULL, planId BIGINT)
        """,
        """
        CREATE TABLE apiToken (
          name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, createdAt DOUBLE PRECISION NOT NULL,
          createdBy TEXT NOT NULL)
        """,
      ]
    )
  ]

  static func migrate(_ database: PostgresStoreDatabase) async throws {
    try await database.write { db in
      try db.serialize(.migration)
      try db.execute("CREATE TABLE IF NOT EXISTS schemaMigration (name TEXT PRIMARY KEY, appliedAt DOUBLE PRECISION NOT NULL)")
      let applied = Set(try db.rows("SELECT name FROM schemaMigration").map { row -> String in try row["name"] })
      for migration in migrations where !applied.contains(migration.name) {
        for statement in migration.sql { try db.execute(statement) }
        try db.execute(
          "INSERT INTO schemaMigration (name, appliedAt) VALUES (?, ?)", [migration.name, Date().timeIntervalSince1970])
      }
    }
  }
}
