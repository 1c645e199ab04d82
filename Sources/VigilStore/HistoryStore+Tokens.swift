import Foundation
import GRDB
import VigilCore

/// An API token as stored: its name (the subject audit entries name), its role, and the SHA-256 of the token
/// itself (the token is shown once, when it is made, and never stored).
public struct StoredToken: Sendable, Hashable, Codable {
  public var name: String
  public var role: APIRole
  /// Lower-case hex SHA-256 of the token.
  public var hash: String
  public var createdAt: Double
  public var createdBy: String

  public init(name: String, role: APIRole, hash: String, createdAt: Double, createdBy: String) {
    self.name = name
    self.role = role
    self.hash = hash
    self.createdAt = createdAt
    self.createdBy = createdBy
  }
}

public struct TokenStoreError: Error, Sendable, CustomStringConvertible {
  public var description: String
}

extension HistoryStore {
  static func createTokenTables(_ db: Database) throws {
    try db.create(table: "apiToken") { t in
      t.primaryKey("name", .text)
      t.column("role", .text).notNull()
      t.column("hash", .text).notNull().unique()
      t.column("createdAt", .double).notNull()
      t.column("createdBy", .text).notNull()
    }
  }

  /// Stores a new token.
  /// - Throws: ``TokenStoreError`` when a token of that name exists (revoke it first).
  public func addToken(_ token: StoredToken) async throws {
    try await write { db in
      if try Row.fetchOne(db, sql: "SELECT name FROM apiToken WHERE name = ?", arguments: [token.name]) != nil {
        throw TokenStoreError(description: "a token named \"\(token.name)\" exists: revoke it first (vigil token revoke --name \(token.name))")
      }
      try db.execute(
        sql: "INSERT INTO apiToken (name, role, hash, createdAt, createdBy) VALUES (?,?,?,?,?)",
        arguments: [token.name, token.role.rawValue, token.hash, token.createdAt, token.createdBy])
    }
  }

  /// Every token, by name.
  public func tokens() throws -> [StoredToken] {
    try pool.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM apiToken ORDER BY name").compactMap(Self.token)
    }
  }

  /// Deletes the token named `name`; false when there was none.
  public func revokeToken(name: String) async throws -> Bool {
    try await write { db in
      try db.execute(sql: "DELETE FROM apiToken WHERE name = ?", arguments: [name])
      return db.changesCount > 0
    }
  }

  static func token(_ r: Row) -> StoredToken? {
    guard let role = APIRole(rawValue: r["role"]) else { return nil }
    return StoredToken(name: r["name"], role: role, hash: r["hash"], createdAt: r["createdAt"], createdBy: r["createdBy"])
  }
}

extension HistoryStore {
  /// The token whose hash this is, if one is stored.
  public func token(hash: String) throws -> StoredToken? {
    try pool.read { db in
      try Row.fetchOne(db, sql: "SELECT * FROM apiToken WHERE hash = ?", arguments: [hash]).flatMap(Self.token)
    }
  }

  /// How many tokens are stored.
  public func tokenCount() throws -> Int {
    try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM apiToken") ?? 0 }
  }
}
