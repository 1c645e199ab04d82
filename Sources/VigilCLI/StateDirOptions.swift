import ArgumentParser
import Foundation
import VigilConfig
import VigilCore
import VigilStore

/// Where Vigil's store is, for the commands that read or change it directly (Vigil may be stopped): a
/// configuration's store (its `history.postgres`, else its `stateDir`), or a state directory.
struct StateDirOptions: ParsableArguments {
  @Option(help: "Vigil configuration whose store to use (history.postgres, else stateDir).") var config: String?
  @Option(help: "Vigil's state dir (instead of --config).") var stateDir: String?

  /// The state directory, or the PostgreSQL store the configuration names.
  func location() throws -> (directory: String, postgres: PostgresAddress?) {
    if let stateDir { return (stateDir, nil) }
    guard let config else { throw CLIError("give --config FILE or --state-dir DIR", exitCode: 64) }
    do {
      let loaded = try ConfigLoader.load(file: config)
      return (loaded.stateDir, loaded.history.postgres)
    } catch {
      throw CLIError("--config: \(error.problems.first.map { "\(config): \($0)" } ?? "\(config): invalid")", exitCode: 64)
    }
  }

  /// The store; with `existing`, a state directory without one is refused (rather than given a new, empty store).
  func store(existing: Bool = false) async throws -> HistoryStore {
    let (dir, postgres) = try location()
    if let postgres {
      do { return try await HistoryStore(postgres: postgres) } catch {
        throw CLIError("history.postgres: cannot open Vigil's store at \(postgres.redacted): \(error)")
      }
    }
    if existing, !FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("vigil.sqlite")) {
      throw CLIError("--state-dir: no vigil.sqlite in \"\(dir)\"", exitCode: 64)
    }
    do { return try HistoryStore(directory: dir) } catch {
      throw CLIError("--state-dir: cannot open Vigil's store in \"\(dir)\": \(error)")
    }
  }
}
