import ArgumentParser
import Foundation

/// `--output table|json` for the read commands: JSON is the API's own answer, for scripts.
struct OutputOptions: ParsableArguments {
  enum Format: String, ExpressibleByArgument, CaseIterable {
    case table, json
  }

  @Option(name: .long, help: "table (default) or json (the API's own JSON, for scripts).")
  var output: Format = .table

  var json: Bool { output == .json }

  /// Prints `value` as JSON when asked to, else the table `render` makes.
  func emit<T: Encodable>(_ value: T, table render: () -> String) throws {
    guard json else {
      print(render())
      return
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
  }
}
