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
      if try db.row("SELECT name FROM apiToken WHERE name = ?", [token.name]) != nil {
        throw TokenStoreError(description: "a token named \"\(token.name)\" exists: revoke it first (vigil token revoke --name \(token.name))")
      }
      try db.execute(
        "INSERT INTO apiToken (name, role, hash, createdAt, createdBy) VALUES (?,?,?,?,?)",
        [token.name, token.role.rawValue, token.hash, token.createdAt, token.createdBy])
    }
  }

  /// Every token, by name.
  public func tokens() async throws -> [StoredToken] {
    try await read { db in try db.rows("SELECT * FROM apiToken ORDER BY name").compactMap(Self.token) }
  }

  /// Deletes the token named `name`; false when there was none.
  public func revokeToken(name: String) async throws -> Bool {
    try await write { db in try db.execute("DELETE FROM apiToken WHERE name = ?", [name]) > 0 }
  }

  static func token(_ r: StoreRow) throws -> StoredToken? {
    guard let role = APIRole(rawValue: try r["role"]) else { return nil }
    return StoredToken(
      name: try r["name"], role: role, hash: try r["hash"], createdAt: try r["createdAt"], createdBy: try r["createdBy"])
  }
}

extension HistoryStore {
  /// The token whose hash this is, if one is stored.
  public func token(hash: String) async throws -> StoredToken? {
    try await read { db in try db.row("SELECT * FROM apiToken WHERE hash = ?", [hash]).flatMap(Self.token) }
  }

  /// How many tokens are stored.
  public func tokenCount() async throws -> Int {
    try await read { db in try db.value("SELECT COUNT(*) FROM apiToken") ?? 0 }
  }
}
