import Foundation

/// One etcd member's client URL, parsed and validated.
///
/// Accepts `http://host:port`, `https://host:port` and, like `etcdctl`,
/// a bare `host:port` (plain HTTP unless the client is configured for TLS).
public struct EtcdEndpoint: Sendable, Hashable, CustomStringConvertible {
  public enum Scheme: String, Sendable, Hashable {
    case http
    case https
  }

  public var scheme: Scheme
  public var host: String
  public var port: Int

  public init(scheme: Scheme = .http, host: String, port: Int) {
    self.scheme = scheme
    self.host = host
    self.port = port
  }

  /// Parses an endpoint string.
  /// - Throws: ``EndpointError`` naming the value and the expected form.
  public init(parsing text: String) throws(EndpointError) {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    func invalid(_ why: String) -> EndpointError {
      EndpointError("endpoint \"\(text)\" \(why) (expected http(s)://host:port, e.g. http://127.0.0.1:2379)")
    }
    var rest = Substring(trimmed)
    var scheme = Scheme.http
    if let range = rest.range(of: "://") {
      let name = rest[rest.startIndex..<range.lowerBound].lowercased()
      guard let parsed = Scheme(rawValue: name) else {
        throw invalid("has unknown scheme \"\(name)\"")
      }
      scheme = parsed
      rest = rest[range.upperBound...]
    }
    if rest.hasSuffix("/") { rest = rest.dropLast() }
    guard !rest.isEmpty else { throw invalid("has no host") }
    guard !rest.contains("/") else { throw invalid("has a path") }
    let host: Substring
    let portText: Substring
    if rest.hasPrefix("[") {
      // IPv6 literal: [::1]:2379
      guard let close = rest.firstIndex(of: "]") else { throw invalid("has an unclosed IPv6 bracket") }
      host = rest[rest.index(after: rest.startIndex)..<close]
      let after = rest[rest.index(after: close)...]
      guard after.hasPrefix(":") else { throw invalid("has no port") }
      portText = after.dropFirst()
    } else {
      guard let colon = rest.lastIndex(of: ":") else { throw invalid("has no port") }
      host = rest[rest.startIndex..<colon]
      portText = rest[rest.index(after: colon)...]
    }
    guard !host.isEmpty else { throw invalid("has no host") }
    guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" })
    else { throw invalid("has an invalid host \"\(host)\"") }
    guard let port = Int(portText), (1...65535).contains(port) else {
      throw invalid("has an invalid port \"\(portText)\"")
    }
    self.init(scheme: scheme, host: String(host), port: port)
  }

  /// Parses a comma-separated list such as `--endpoints a:1,b:2`.
  public static func parseList(_ text: String) throws(EndpointError) -> [EtcdEndpoint] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: true)
    guard !parts.isEmpty else {
      throw EndpointError("no endpoints given (expected a comma-separated list of http(s)://host:port)")
    }
    var result: [EtcdEndpoint] = []
    for part in parts { result.append(try EtcdEndpoint(parsing: String(part))) }
    return result
  }

  /// `host:port`, with brackets around IPv6 literals.
  public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

  public var description: String { "\(scheme.rawValue)://\(authority)" }

  /// True when the host is an IPv4 or IPv6 literal (no SNI is sent then).
  public var hostIsIPAddress: Bool {
    host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
  }
}

/// An endpoint that does not parse: the value and the form expected.
public struct EndpointError: Error, Sendable, Hashable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
