import Foundation

/// Where a PostgreSQL history store is: `postgresql://user[:password]@host[:port]/database[?sslmode=MODE]`.
public struct PostgresAddress: Sendable, Hashable, Encodable {
  public enum TLSMode: String, Sendable, Hashable, CaseIterable, Encodable {
    /// Plain TCP (loopback, or a network that is private anyway).
    case disable
    /// TLS, without checking the server's certificate.
    case require
    /// TLS, the certificate checked against the system's roots and the host name.
    case verifyFull = "verify-full"
  }

  public var host: String
  public var port: Int
  public var user: String
  public var password: String?
  public var database: String
  public var tls: TLSMode

  public init(
    host: String, port: Int = 5432, user: String, password: String? = nil, database: String, tls: TLSMode = .disable
  ) {
    self.host = host
    self.port = port
    self.user = user
    self.password = password
    self.database = database
    self.tls = tls
  }

  /// The address without its password (for logs, messages and `vigil config show`).
  public var redacted: String { "postgresql://\(user)@\(host):\(port)/\(database)" }

  /// Encoded without the password.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(redacted + (tls == .disable ? "" : "?sslmode=\(tls.rawValue)"))
  }

  /// Parses a `postgresql://` (or `postgres://`) URL.
  /// - Throws: a message saying what is wrong and what was expected.
  public static func parse(_ text: String) throws(AddressError) -> PostgresAddress {
    guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgresql", "postgres"].contains(scheme)
    else {
      throw AddressError("expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, got \"\(text)\"")
    }
    guard let host = url.host, !host.isEmpty else { throw AddressError("no host in \"\(text)\"") }
    guard let user = url.user, !user.isEmpty else { throw AddressError("no user in \"\(text)\" (postgresql://USER@HOST/DB)") }
    let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
    guard !database.isEmpty, !database.contains("/") else {
      throw AddressError("no database in \"\(text)\" (postgresql://USER@HOST/DATABASE)")
    }
    if let port = url.port, !(1...65535).contains(port) { throw AddressError("port \(port) is not 1–65535") }
    var tls = TLSMode.disable
    for item in url.queryItems ?? [] {
      switch item.name {
      case "sslmode":
        guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
          throw AddressError(
            "sslmode \"\(item.value ?? "")\" is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        tls = mode
      default:
        throw AddressError("unknown parameter \"\(item.name)\" (only sslmode is understood)")
      }
    }
    return PostgresAddress(
      host: host, port: url.port ?? 5432, user: user, password: url.password, database: database, tls: tls)
  }

  public struct AddressError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
  }
}
