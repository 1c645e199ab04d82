import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import VigilCore

/// The history store's database in PostgreSQL, shared by every Vigil replica that names it.
///
/// Statements run one transaction at a time on one connection, on a serial queue of the store's own (as GRDB runs
/// SQLite's), so a transaction's body stays synchronous and the same for both databases. Each statement has a
/// deadline; a connection that failed is dropped and made again on the next use.
final class PostgresStoreDatabase: StoreDatabase, @unchecked Sendable {
  let address: PostgresAddress
  let logger: Logger
  /// The longest any one statement may take, on the server (`statement_timeout`) and here.
  let statementTimeout: Duration
  var dialect: StoreDialect { .postgres }
  var location: String { address.redacted }

  private let queue = DispatchQueue(label: "vigil.store.postgres")
  /// Only touched on `queue`.
  private var connection: PostgresConnection?
  private static let connectionIDs = ManagedCounter()

  /// Connects at the first statement (the store's migration, at start).
  init(address: PostgresAddress, statementTimeout: Duration = .seconds(15), logger: Logger) {
    self.address = address
    self.statementTimeout = statementTimeout
    self.logger = logger
  }

  deinit {
    if let connection { Self.close(connection) }
  }

  /// Closes without waiting; the connection is kept until it is closed (it may not be freed open).
  static func close(_ connection: PostgresConnection) {
    connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
  }

  func write<T: Sendable>(_ body: @escaping @Sendable (any StoreSession) throws -> T) async throws -> T {
    try await perform(transaction: true, body)
  }

  func read<T: Sendable>(_ body: @escaping @Sendable (any StoreSession) throws -> T) async throws -> T {
    try await perform(transaction: false, body)
  }

  /// Runs `body` on the queue; the continuation is resumed exactly once, when the body (and its transaction) ends —
  /// cancellation does not cut a transaction short.
  private func perform<T: Sendable>(transaction: Bool, _ body: @escaping @Sendable (any StoreSession) throws -> T)
    async throws -> T
  {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
      queue.async {
        continuation.resume(with: Result { try self.run(transaction: transaction, body) })
      }
    }
  }

  /// On `queue`.
  private func run<T>(transaction: Bool, _ body: (any StoreSession) throws -> T) throws -> T {
    let session = Session(connection: try connected(), logger: logger, timeout: statementTimeout)
    do {
      guard transaction else { return try body(session) }
      try session.execute("BEGIN")
      let value = try body(session)
      try session.execute("COMMIT")
      return value
    } catch {
      let lost = (error as? PostgresStoreError)?.connectionLost ?? false
      if lost || session.connection.isClosed {
        drop()
      } else if transaction {
        _ = try? session.execute("ROLLBACK")
      }
      throw error
    }
  }

  /// On `queue`: the open connection, made if needed.
  private func connected() throws -> PostgresConnection {
    if let connection, !connection.isClosed { return connection }
    connection = nil
    var configuration = PostgresConnection.Configuration(
      host: address.host, port: address.port, username: address.user, password: address.password,
      database: address.database, tls: try Self.tls(address.tls))
    configuration.options.connectTimeout = .seconds(10)
    let milliseconds = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
    configuration.options.additionalStartupParameters = [
      ("statement_timeout", String(milliseconds)), ("lock_timeout", String(milliseconds)),
      ("application_name", "vigil"),
    ]
    let future = PostgresConnection.connect(
      on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: Self.connectionIDs.next(),
      logger: logger)
    let made: PostgresConnection
    do {
      made = try Session.await(future, timeout: .seconds(15), what: "connecting") {
        // A connection made after all is closed, not left open.
        future.whenSuccess { Self.close($0) }
      }
    } catch {
      throw PostgresStoreError(
        message: "cannot connect to \(address.redacted): \(Session.describe(error))", connectionLost: true)
    }
    connection = made
    return made
  }

  private func drop() {
    if let connection { Self.close(connection) }
    connection = nil
  }

  static func tls(_ mode: PostgresAddress.TLSMode) throws -> PostgresConnection.Configuration.TLS {
    switch mode {
    case .disable: return .disable
    case .require:
      var c = TLSConfiguration.makeClientConfiguration()
      c.certificateVerification = .none
      return .require(try NIOSSLContext(configuration: c))
    case .verifyFull:
      return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
    }
  }

  struct Session: StoreSession {
    let connection: PostgresConnection
    let logger: Logger
    let timeout: Duration
    var dialect: StoreDialect { .postgres }

    @discardableResult func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
      try query(sql, arguments).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [StoreRow] {
      try query(sql, arguments).rows.map { row in
        StoreRow(row.map { cell in (cell.columnName, Self.value(cell)) })
      }
    }

    func serialize(_ lock: StoreLock) throws {
      try execute("SELECT pg_advisory_xact_lock(?)", [lock.rawValue])
    }

    func query(_ sql: String, _ arguments: [any SQLBindable]) throws -> PostgresQueryResult {
      var bindings = PostgresBindings(capacity: arguments.count)
      for argument in arguments {
        switch argument.sqlValue {
        case .null(let type): bindings.append(PostgresData(type: Self.type(type), value: nil))
        case .integer(let i): bindings.append(i)
        case .real(let d): bindings.append(d)
        case .text(let s): bindings.append(s)
        case .bool(let b): bindings.append(b)
        }
      }
      let query = PostgresQuery(unsafeSQL: Self.numbered(sql), binds: bindings)
      // The server gives up at `statement_timeout`; this deadline is for a server (or network) that stops answering.
      do {
        return try Self.await(connection.query(query, logger: logger), timeout: timeout + .seconds(5), what: "a statement") {
          PostgresStoreDatabase.close(connection)
        }
      } catch let error as PSQLError {
        if let message = error.serverInfo?[.message] {
          throw PostgresStoreError(message: "PostgreSQL refused a statement: \(message)", connectionLost: false)
        }
        throw PostgresStoreError(message: "PostgreSQL connection failed: \(error.code)", connectionLost: true)
      }
    }

    /// `?` placeholders as PostgreSQL's `$1`, `$2`, … (outside quoted strings).
    static func numbered(_ sql: String) -> String {
      var out = ""
      var n = 0
      var quoted = false
      for c in sql {
        if c == "'" { quoted.toggle() }
        if c == "?" && !quoted {
          n += 1
          out += "$\(n)"
        } else {
          out.append(c)
        }
      }
      return out
    }

    static func type(_ t: SQLType) -> PostgresDataType {
      switch t {
      case .integer: .int8
      case .real: .float8
      case .text: .text
      case .bool: .bool
      }
    }

    static func value(_ cell: PostgresCell) -> SQLValue {
      guard cell.bytes != nil else { return .null(.text) }
      switch cell.dataType {
      case .int2, .int4, .int8: return (try? cell.decode(Int64.self)).map(SQLValue.integer) ?? .null(.integer)
      case .float4, .float8, .numeric: return (try? cell.decode(Double.self)).map(SQLValue.real) ?? .null(.real)
      case .bool: return (try? cell.decode(Bool.self)).map(SQLValue.bool) ?? .null(.bool)
      default: return (try? cell.decode(String.self)).map(SQLValue.text) ?? .null(.text)
      }
    }

    /// Waits (on the store's queue, never on a Swift concurrency thread) for a future, at most `timeout`.
    static func await<T: Sendable>(
      _ future: EventLoopFuture<T>, timeout: Duration, what: String, onTimeout: (() -> Void)? = nil
    ) throws -> T {
      let done = DispatchSemaphore(value: 0)
      let box = ResultBox<T>()
      future.whenComplete { result in
        box.set(result)
        done.signal()
      }
      let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
      if done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .timedOut {
        onTimeout?()
        throw PostgresStoreError(message: "PostgreSQL: \(what) got no answer within \(timeout)", connectionLost: true)
      }
      switch box.get()! {
      case .success(let v): return v
      case .failure(let e): throw e
      }
    }

    static func describe(_ error: any Error) -> String {
      if let e = error as? PSQLError {
        if let message = e.serverInfo?[.message] { return message }
        return "\(e.code)"
      }
      return "\(error)"
    }
  }
}

/// The PostgreSQL store could not be reached or did not answer in time.
public struct PostgresStoreError: Error, CustomStringConvertible {
  public var message: String
  /// The connection is gone or in doubt (it is made again on the next use), rather than one statement refused.
  public var connectionLost: Bool
  public var description: String { message }
}

private final class ResultBox<T: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var result: Result<T, any Error>?
  func set(_ r: Result<T, any Error>) { lock.withLock { result = r } }
  func get() -> Result<T, any Error>? { lock.withLock { result } }
}

private final class ManagedCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var n = 0
  func next() -> Int { lock.withLock { n += 1; return n } }
}
