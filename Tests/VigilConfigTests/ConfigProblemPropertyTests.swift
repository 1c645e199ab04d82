import PropertyBased
import Testing
import VigilConfig

/// Every problem at once, each at its own path and line: valid files with N
/// independent errors injected report exactly those N paths, on their lines.
@Suite("Configuration problems, property-based")
struct ConfigProblemPropertyTests {
  /// One cluster of seven lines; `faults` says which of its fields are broken (bit 0 name, 1 tier,
  /// 2 drillAllowed, bits 3–4 endpoints[1] and 5–6 endpoints[2]: 1 a bad scheme, 2 a duplicate of endpoints[0]).
  static func cluster(_ index: Int, faults: Int, firstLine: Int) -> (yaml: String, expected: [String: Int]) {
    let path = "clusters[\(index)]"
    var expected: [String: Int] = [:]
    let port = 20000 + index * 10
    var lines: [String] = []
    if faults & 1 != 0 {
      lines.append("  - name: \"bad name \(index)\"")
      expected["\(path).name"] = firstLine
    } else {
      lines.append("  - name: c\(index)")
    }
    lines.append("    endpoints:")
    lines.append("      - http://127.0.0.1:\(port)")
    for e in 1...2 {
      let line = firstLine + 2 + e
      switch (faults >> (1 + 2 * e)) & 3 {
      case 1:
        lines.append("      - htp://127.0.0.1:\(port + e)")
        expected["\(path).endpoints[\(e)]"] = line
      case 2:
        lines.append("      - http://127.0.0.1:\(port)")
        expected["\(path).endpoints[\(e)]"] = line
      default:
        lines.append("      - http://127.0.0.1:\(port + e)")
      }
    }
    if faults & 2 != 0 {
      lines.append("    tier: P9")
      expected["\(path).tier"] = firstLine + 5
    } else {
      lines.append("    tier: P1")
    }
    if faults & 4 != 0 {
      lines.append("    drillAllowed: maybe")
      expected["\(path).drillAllowed"] = firstLine + 6
    } else {
      lines.append("    drillAllowed: false")
    }
    return (lines.joined(separator: "\n"), expected)
  }

  @Test func injectedErrorsAreReportedExactlyWithTheirPathsAndLines() async {
    await propertyCheck(count: 300, input: Gen.int(in: 0...127).array(of: 1...5)) { faults in
      var yaml = ["clusters:"]
      var expected: [String: Int] = [:]
      for (i, f) in faults.enumerated() {
        let block = Self.cluster(i, faults: f, firstLine: 2 + 7 * i)
        yaml.append(block.yaml)
        expected.merge(block.expected) { a, _ in a }
      }
      var found: [String: Int] = [:]
      var count = 0
      do {
        _ = try ConfigLoader.parse(yaml.joined(separator: "\n"))
      } catch let error as ConfigError {
        count = error.problems.count
        for p in error.problems { found[p.path] = p.line ?? -1 }
      } catch {
        Issue.record("unexpected error \(error)")
      }
      #expect(found == expected, "\(faults): \(found) != \(expected)")
      #expect(count == expected.count, "one problem each: \(faults)")
    }
  }
}
