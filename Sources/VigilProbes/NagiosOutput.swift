import Foundation

/// A check plugin's output in the Nagios/Icinga convention: exit code 0 OK,
/// 1 WARNING, 2 CRITICAL, 3 UNKNOWN; the first line is the message, and
/// performance data follow a `|` as `label=value[unit];warn;crit;min;max`.
public struct NagiosOutput: Sendable, Hashable {
  public var status: ProbeStatus
  public var message: String
  /// Performance data values, by label (the unit is dropped; `s`/`ms`/`us` are converted to seconds,
  /// `%`, `B`, `KB`, `MB`, `GB`, `TB` and `c` are kept as numbers).
  public var performance: [String: Double]

  public init(exitCode: Int32, output: String) {
    switch exitCode {
    case 0: status = .ok
    case 1: status = .warning
    case 2: status = .critical
    default: status = .unknown
    }
    let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
    var first = Substring(lines.first ?? "")
    var perf: [Substring] = []
    if let bar = first.firstIndex(of: "|") {
      perf.append(first[first.index(after: bar)...])
      first = first[..<bar]
    }
    // Long output may carry more performance data after a second `|`.
    for line in lines.dropFirst() {
      if let bar = line.firstIndex(of: "|") { perf.append(line[line.index(after: bar)...]) }
    }
    message = first.trimmingCharacters(in: .whitespaces)
    if message.isEmpty { message = "(no output, exit \(exitCode))" }
    performance = [:]
    for chunk in perf { Self.parsePerformance(chunk, into: &performance) }
  }

  static func parsePerformance(_ text: Substring, into result: inout [String: Double]) {
    var rest = text[...]
    while true {
      rest = rest.drop { $0 == " " }
      guard !rest.isEmpty else { return }
      var label: Substring
      if rest.first == "'" {
        rest = rest.dropFirst()
        guard let close = rest.firstIndex(of: "'") else { return }
        label = rest[..<close]
        rest = rest[rest.index(after: close)...]
      } else {
        let end = rest.firstIndex(of: "=") ?? rest.endIndex
        label = rest[..<end]
        rest = rest[end...]
      }
      guard rest.first == "=" else { return }
      rest = rest.dropFirst()
      let end = rest.firstIndex(of: " ") ?? rest.endIndex
      let field = rest[..<end]
      rest = rest[end...]
      let valueText = field.split(separator: ";", omittingEmptySubsequences: false).first ?? ""
      let number = valueText.prefix { $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" || $0 == "E" }
      let unit = valueText.dropFirst(number.count)
      guard var value = Double(number) else { continue }
      switch unit {
      case "ms": value /= 1000
      case "us": value /= 1_000_000
      default: break
      }
      label = Substring(label.trimmingCharacters(in: .whitespaces))
      if !label.isEmpty { result[String(label)] = value }
    }
  }
}
