import Foundation

/// The SQL dialects the history store speaks.
public enum StoreDialect: String, Sendable {
  case sqlite
  case postgres
}

/// The column types a bound NULL may carry (PostgreSQL infers a parameter's type from it).
public enum SQLType: Sendable {
  case integer, real, text, bool
}

/// One value bound to a statement or read from a row.
public enum SQLValue: Sendable, Hashable {
  case null(SQLType)
  case integer(Int64)
  case real(Double)
  case text(String)
  case bool(Bool)
}

/// A Swift value that binds as a statement argument.
public protocol SQLBindable: Sendable {
  var sqlValue: SQLValue { get }
  static var sqlType: SQLType { get }
}

extension Int64: SQLBindable {
  public var sqlValue: SQLValue { .integer(self) }
  public static var sqlType: SQLType { .integer }
}

extension Int: SQLBindable {
  public var sqlValue: SQLValue { .integer(Int64(self)) }
  public static var sqlType: SQLType { .integer }
}

extension Double: SQLBindable {
  public var sqlValue: SQLValue { .real(self) }
  public static var sqlType: SQLType { .real }
}

extension String: SQLBindable {
  public var sqlValue: SQLValue { .text(self) }
  public static var sqlType: SQLType { .text }
}

extension Bool: SQLBindable {
  public var sqlValue: SQLValue { .bool(self) }
  public static var sqlType: SQLType { .bool }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
  public var sqlValue: SQLValue { map(\.sqlValue) ?? .null(Wrapped.sqlType) }
  public static var sqlType: SQLType { Wrapped.sqlType }
}

/// A column's value read as a Swift type; nil when the stored value does not fit it.
public protocol SQLReadable {
  init?(sqlValue: SQLValue)
}

extension Int64: SQLReadable {
  public init?(sqlValue: SQLValue) {
    switch sqlValue {
    case .integer(let v): self = v
    case .real(let v) where v.rounded() == v && abs(v) < 9e18: self = Int64(v)
    default: return nil
    }
  }
}

extension Int: SQLReadable {
  public init?(sqlValue: SQLValue) {
    guard let v = Int64(sqlValue: sqlValue) else { return nil }
    self = Int(v)
  }
}

extension Double: SQLReadable {
  public init?(sqlValue: SQLValue) {
    switch sqlValue {
    case .real(let v): self = v
    case .integer(let v): self = Double(v)
    default: return nil
    }
  }
}

extension String: SQLReadable {
  public init?(sqlValue: SQLValue) {
    guard case .text(let v) = sqlValue else { return nil }
    self = v
  }
}

extension Bool: SQLReadable {
  public init?(sqlValue: SQLValue) {
    switch sqlValue {
    case .bool(let v): self = v
    case .integer(let v): self = v != 0
    default: return nil
    }
  }
}

extension Optional: SQLReadable where Wrapped: SQLReadable {
  public init?(sqlValue: SQLValue) {
    if case .null = sqlValue {
      self = .none
    } else if let v = Wrapped(sqlValue: sqlValue) {
      self = .some(v)
    } else {
      return nil
    }
  }
}

/// A stored row that does not have what the store expects (a schema the code does not know).
public struct StoreRowError: Error, CustomStringConvertible {
  public var column: String
  public var found: SQLValue?
  public var expected: String
  public var description: String {
    "column \(column): expected \(expected), found \(found.map { "\($0)" } ?? "no such column")"
  }
}

/// One result row; columns are looked up without regard to case (PostgreSQL folds unquoted names to lower case).
public struct StoreRow: Sendable {
  var values: [String: SQLValue]
  /// The values in column order.
  var ordered: [SQLValue]

  public init(_ columns: [(String, SQLValue)]) {
    values = Dictionary(columns.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { first, _ in first })
    ordered = columns.map(\.1)
  }

  public subscript<T: SQLReadable>(_ column: String) -> T {
    get throws {
      let found = values[column.lowercased()]
      guard let found, let v = T(sqlValue: found) else {
        throw StoreRowError(column: column, found: found, expected: "\(T.self)")
      }
      return v
    }
  }
}

/// Statements inside one transaction (writes) or one read.
public protocol StoreSession {
  var dialect: StoreDialect { get }
  /// Runs a statement; `?` marks each argument. Returns the number of rows it changed.
  @discardableResult func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int
  func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [StoreRow]
  /// Holds `lock` until the transaction ends, against every other process sharing the store (PostgreSQL's advisory
  /// locks); SQLite's writes are serial already.
  func serialize(_ lock: StoreLock) throws
}

extension StoreSession {
  @discardableResult func execute(_ sql: String) throws -> Int { try execute(sql, []) }
  func rows(_ sql: String) throws -> [StoreRow] { try rows(sql, []) }
  func row(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> StoreRow? { try rows(sql, arguments).first }

  /// The first column of the first row, or nil when there is no row or it is NULL.
  func value<T: SQLReadable>(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> T? {
    guard let row = try rows(sql, arguments).first, let first = row.ordered.first else { return nil }
    if case .null = first { return nil }
    guard let v = T(sqlValue: first) else { throw StoreRowError(column: "1", found: first, expected: "\(T.self)") }
    return v
  }
}

/// The writes several Vigil replicas sharing one store must not interleave.
public enum StoreLock: Int64, Sendable {
  /// Appending to the audit chain (each entry links to the one before).
  case audit = 0x5669_6700_0001
  /// Folding results into rollups.
  case compaction = 0x5669_6700_0002
  /// Creating or upgrading the schema.
  case migration = 0x5669_6700_0003
}

/// A database the history store runs its statements on.
public protocol StoreDatabase: Sendable {
  var dialect: StoreDialect { get }
  /// One transaction that runs to its end even if the caller is cancelled.
  func write<T: Sendable>(_ body: @escaping @Sendable (any StoreSession) throws -> T) async throws -> T
  func read<T: Sendable>(_ body: @escaping @Sendable (any StoreSession) throws -> T) async throws -> T
  /// Where the data is, for messages (a file path, or a PostgreSQL address without its password).
  var location: String { get }
}
