import ArgumentParser
import Foundation
import VigilConfig
import VigilStore

/// Where Vigil's store is, for the commands that read or change it directly (Vigil may be stopped): a
/// configuration's `stateDir`, or the directory itself.
struct StateDirOptions: ParsableArguments {
  @Option(help: "Vigil configuration whose stateDir to use.") var config: String?
  @Option(help: "Vigil's state dir (instead of --config).") var stateDir: String?

  func directory() throws -> String {
    if let stateDir { return stateDir }
    guard let config else { throw CLIError("give --config FILE or --state-dir DIR", exitCode: 64) }
    do { return try ConfigLoader.load(file: config).stateDir } catch {
      throw CLIError("--config: \(error.problems.first.map { "\(config): \($0)" } ?? "\(config): invalid")", exitCode: 64)
    }
  }

  /// The store; with `existing`, a directory without one is refused (rather than given a new, empty store).
  func store(existing: Bool = false) throws -> HistoryStore {
    let dir = try directory()
    if existing, !FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("vigil.sqlite")) {
      throw CLIError("--state-dir: no vigil.sqlite in \"\(dir)\"", exitCode: 64)
    }
    do { return try HistoryStore(directory: dir) } catch {
      throw CLIError("--state-dir: cannot open Vigil's store in \"\(dir)\": \(error)")
    }
  }
}
