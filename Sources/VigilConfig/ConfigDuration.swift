import Foundation

/// A duration written in the configuration as `250ms`, `2s`, `1m30s`, `1h`, `30d`.
public struct ConfigDuration: Sendable, Hashable, Comparable, Encodable, CustomStringConvertible {
  public var duration: Duration

  public init(_ duration: Duration) { self.duration = duration }

  public static func milliseconds(_ n: Int64) -> ConfigDuration { ConfigDuration(.milliseconds(n)) }
  public static func seconds(_ n: Int64) -> ConfigDuration { ConfigDuration(.seconds(n)) }

  /// Parses `500ms`, `2s`, `1.5s`, `1m30s`, `2h`, `30d`; nil when the text is not a duration.
  public init?(parsing text: String) {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
    var rest = Substring(text.trimmingCharacters(in: .whitespaces))
    guard !rest.isEmpty else { return nil }
    var total = 0.0
    while !rest.isEmpty {
      let number = rest.prefix { $0.isNumber || $0 == "." }
      guard !number.isEmpty, let value = Double(number) else { return nil }
      rest = rest.dropFirst(number.count)
      let unitText = rest.prefix { $0.isLetter }
      guard let unit = units.first(where: { $0.0 == String(unitText) }) else { return nil }
      rest = rest.dropFirst(unitText.count)
      total += value * unit.1
    }
    self.duration = .nanoseconds(Int64((total * 1e9).rounded()))
  }

  public var description: String {
    let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    if ms % 86_400_000 == 0 && ms > 0 { return "\(ms / 86_400_000)d" }
    if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
    if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
    if ms % 1000 == 0 { return "\(ms / 1000)s" }
    return "\(ms)ms"
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }

  public static func < (a: ConfigDuration, b: ConfigDuration) -> Bool { a.duration < b.duration }
}
