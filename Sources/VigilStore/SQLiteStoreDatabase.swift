import Foundation
import GRDB

/// The history store's database in one SQLite file (GRDB, WAL journal): the single-node default.
final class SQLiteStoreDatabase: StoreDatabase {
  let pool: DatabasePool
  let location: String
  var dialect: StoreDialect { .sqlite }

  init(path: String) throws {
    var config = Configuration()
    config.busyMode = .timeout(5)
    config.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
    }
    pool = try DatabasePool(path: path, configuration: config)
    location = path
  }

  func write<T: Sendable>(_ body: @escaping @Sendable (any StoreSession) throws -> T) async throws -> T {
    let pool = self.pool
    return try await Task { try await pool.write { db in try body(Session(db: db)) } }.value
  }

  func read<T: Sendable>(_ body: @escaping @Sendable (any StoreSession) throws -> T) async throws -> T {
    try await pool.read { db in try body(Session(db: db)) }
  }

  struct Session: StoreSession {
    let db: Database
    var dialect: StoreDialect { .sqlite }

    @discardableResult func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
      try db.execute(sql: sql, arguments: Self.arguments(arguments))
      return db.changesCount
    }

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [StoreRow] {
      try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map { row in
        StoreRow(row.map { column, value in (column, Self.value(value)) })
      }
    }

    func serialize(_ lock: StoreLock) throws {}

    static func arguments(_ values: [any SQLBindable]) -> StatementArguments {
      StatementArguments(
        values.map { v -> DatabaseValue in
          switch v.sqlValue {
          case .null: .null
          case .integer(let i): i.databaseValue
          case .real(let d): d.databaseValue
          case .text(let s): s.databaseValue
          case .bool(let b): b.databaseValue
          }
        })
    }

    static func value(_ v: DatabaseValue) -> SQLValue {
      switch v.storage {
      case .null: .null(.text)
      case .int64(let i): .integer(i)
      case .double(let d): .real(d)
      case .string(let s): .text(s)
      case .blob(let b): .text(String(decoding: b, as: UTF8.self))
      }
    }
  }
}
