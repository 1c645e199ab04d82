import Crypto
import Foundation

/// AWS Signature Version 4 for requests to S3 and S3-compatible stores, pure: the caller gives the request
/// (method, path, query, headers, the payload's SHA-256) and the time, and gets back the headers that sign it.
///
/// The path and the query are given unencoded; ``canonicalPath(_:)`` and ``canonicalQuery(_:)`` encode them the
/// way the signature does, and the request must go out with exactly those strings.
public struct SigV4Signer: Sendable, CustomStringConvertible, CustomReflectable {
  /// The SHA-256 of an empty payload, for requests without a body.
  public static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  public let accessKey: String
  let secretKey: String
  public let region: String
  public let service: String

  /// - Parameters:
  ///   - accessKey: the access key id, sent in the `Credential` field.
  ///   - secretKey: the secret; it only keys the HMACs and appears in no output, description or mirror.
  ///   - region: the region the store expects (`us-east-1` for most S3-compatible servers).
  ///   - service: the service name in the credential scope.
  public init(accessKey: String, secretKey: String, region: String, service: String = "s3") {
    self.accessKey = accessKey
    self.secretKey = secretKey
    self.region = region
    self.service = service
  }

  /// Never shows the secret.
  public var description: String { "SigV4Signer(access key \(accessKey), \(region)/\(service))" }
  public var customMirror: Mirror {
    Mirror(self, children: ["accessKey": accessKey, "region": region, "service": service])
  }

  /// The headers a signed request carries besides its own.
  public struct Signature: Sendable, Hashable {
    /// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`
    public var authorization: String
    /// The request time, `yyyyMMdd'T'HHmmss'Z'` in UTC, for `x-amz-date`.
    public var amzDate: String
    /// The payload's SHA-256 (hex), for `x-amz-content-sha256`.
    public var contentSHA256: String

    /// The three headers to add to the request, by name.
    public var headers: [(name: String, value: String)] {
      [("Authorization", authorization), ("x-amz-date", amzDate), ("x-amz-content-sha256", contentSHA256)]
    }
  }

  /// Signs one request.
  /// - Parameters:
  ///   - method: `GET`, `PUT`, …
  ///   - path: the URL path, unencoded (`/bucket/a b.txt`); each segment is encoded, `/` kept.
  ///   - query: the query items, unencoded, in any order.
  ///   - headers: the headers to sign, at least `host`; `x-amz-date` and `x-amz-content-sha256` are added.
  ///   - payloadSHA256: the hex SHA-256 of the body (``emptyPayloadSHA256`` for none), or `UNSIGNED-PAYLOAD`.
  ///   - date: the request time.
  public func sign(
    method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)],
    payloadSHA256: String, date: Date
  ) -> Signature {
    let amzDate = Self.amzDate(date)
    let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    let (canonical, signedHeaders) = Self.canonicalRequest(
      method: method, path: path, query: query,
      headers: headers + [("x-amz-date", amzDate), ("x-amz-content-sha256", payloadSHA256)],
      payloadSHA256: payloadSHA256)
    let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonical.utf8)))]
      .joined(separator: "\n")
    let key = signingKey(day: String(amzDate.prefix(8)))
    let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    return Signature(
      authorization:
        "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)",
      amzDate: amzDate, contentSHA256: payloadSHA256)
  }

  /// The key for one day: HMACs of the date, region, service and `aws4_request`, keyed first by `AWS4` + secret.
  func signingKey(day: String) -> SymmetricKey {
    var key = SymmetricKey(data: Data(("AWS4" + secretKey).utf8))
    for part in [day, region, service, "aws4_request"] {
      key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
    }
    return key
  }

  /// The canonical request and the signed-header list (`host;range;x-amz-date`).
  static func canonicalRequest(
    method: String, path: String, query: [(name: String, value: String)], headers: [(name: String, value: String)],
    payloadSHA256: String
  ) -> (request: String, signedHeaders: String) {
    // Header names in lower case, values trimmed with inner runs of spaces made one; repeated names joined by commas.
    var byName: [String: [String]] = [:]
    for (name, value) in headers {
      let squeezed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
      byName[name.lowercased(), default: []].append(squeezed.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let names = byName.keys.sorted()
    let canonicalHeaders = names.map { "\($0):\(byName[$0, default: []].joined(separator: ","))\n" }.joined()
    let signedHeaders = names.joined(separator: ";")
    let request = [
      method.uppercased(), canonicalPath(path), canonicalQuery(query), canonicalHeaders, signedHeaders, payloadSHA256,
    ].joined(separator: "\n")
    return (request, signedHeaders)
  }

  /// The path as signed and sent: each `/`-separated segment URI-encoded (`/a b/c` → `/a%20b/c`).
  public static func canonicalPath(_ path: String) -> String {
    let absolute = path.hasPrefix("/") ? path : "/" + path
    return absolute.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }
      .joined(separator: "/")
  }

  /// The query as signed and sent: names and values URI-encoded (`/` too), sorted by name then value.
  public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
    let encoded: [(name: String, value: String)] = query.map { (uriEncode($0.name), uriEncode($0.value)) }
    let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
    return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
  }

  /// SigV4's URI encoding: every byte of the UTF-8 form except `A-Z a-z 0-9 - _ . ~` as `%XX` (upper-case hex).
  public static func uriEncode(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
      if isUnreserved(byte) {
        out.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        out += "%" + hexDigit(byte >> 4, upper: true) + hexDigit(byte & 0xf, upper: true)
      }
    }
    return out
  }

  /// `A-Z a-z 0-9 - _ . ~`
  static func isUnreserved(_ byte: UInt8) -> Bool {
    let letter = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a  // a-z, A-Z
    let digit = byte >= 0x30 && byte <= 0x39
    return letter || digit || byte == 0x2d || byte == 0x5f || byte == 0x2e || byte == 0x7e  // - _ . ~
  }

  /// `20130524T000000Z` for the given instant, in UTC.
  static func amzDate(_ date: Date) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    func two(_ n: Int?) -> String { n.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
    return "\(c.year ?? 1970)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
  }

  /// Lower-case hex of a digest or MAC.
  static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
    var out = ""
    for byte in bytes { out += hexDigit(byte >> 4, upper: false) + hexDigit(byte & 0xf, upper: false) }
    return out
  }

  /// The hex SHA-256 of `data`, for `payloadSHA256`.
  public static func sha256Hex(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

  private static func hexDigit(_ nibble: UInt8, upper: Bool) -> String {
    let letters: UInt8 = upper ? 0x41 : 0x61  // A or a
    return String(UnicodeScalar(nibble < 10 ? 0x30 + nibble : letters + nibble - 10))
  }
}
