import ArgumentParser
import Foundation
import VigilConfig

/// `vigil config …`: the configuration file.
struct ConfigCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config",
    abstract: "Check a vigil.yaml configuration.",
    subcommands: [Check.self]
  )

  struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "check",
      abstract: "Print every problem in FILE with its path, or the resolved configuration (defaults filled in).",
      discussion: "Exits 0 when the file is valid, 1 when it has problems."
    )

    @Argument(help: "The configuration file.")
    var file: String

    func run() async throws {
      let config: VigilConfiguration
      do {
        config = try ConfigLoader.load(file: file)
      } catch {
        for problem in error.problems {
          FileHandle.standardError.write(Data("\(file): \(problem)\n".utf8))
        }
        throw ExitCode(1)
      }
      // JSON is YAML too, and prints numbers and key order plainly.
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      print("# \(file) is valid; resolved configuration (defaults filled in):")
      print(String(decoding: try encoder.encode(config), as: UTF8.self))
    }
  }
}
