import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// The `vigil` command tree.
public struct VigilCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "vigil",
    abstract: "Keeps etcd-backed control planes alive: probes, detects, repairs, backs up, proves.",
    subcommands: [
      ServeCommand.self, DemoCommand.self, StatusCommand.self, ProbeCommand.self, InspectCommand.self,
      RepairCommand.self, IncidentsCommand.self, AuditCommand.self, BackupCommand.self, ClusterCommand.self,
      ConfigCommand.self, FailoverCommand.self, FailbackCommand.self, ProxyCommand.self,
      TokenCommand.self, GateCommand.self, BenchCommand.self, DrillCommand.self,
    ]
  )

  public init() {}
}

/// Entry point used by the thin `vigil` executable.
public enum VigilMain {
  /// Runs Swift concurrency's jobs on NIO's event loops instead of dispatch's thread pool: a probe's network
  /// I/O and the task awaiting it then share a thread, with no wake-up of another one per await (measured by
  /// `vigil bench detect`). Call first in `main`, before any task starts; false when it is too late.
  @discardableResult
  public static func installExecutor() -> Bool {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
  }

  /// Parses `arguments`, runs the command and returns the process exit code.
  /// Every error becomes one line on stderr: `vigil: error: …`.
  public static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Int32 {
    do {
      var command = try VigilCommand.parseAsRoot(arguments)
      if var async = command as? any AsyncParsableCommand {
        try await async.run()
      } else {
        try command.run()
      }
      fflush(nil)
      return 0
    } catch let code as ExitCode {
      // The command already said what was wrong.
      fflush(nil)
      return code.rawValue
    } catch let error as CLIError {
      fflush(nil)
      FileHandle.standardError.write(Data("vigil: error: \(error.message)\n".utf8))
      return error.exitCode
    } catch {
      let code = VigilCommand.exitCode(for: error)
      if code == .success {
        // --help and --version: ArgumentParser's full text is what the user asked for.
        print(VigilCommand.fullMessage(for: error))
        return 0
      }
      let message = VigilCommand.message(for: error)
        .split(separator: "\n").first.map(String.init) ?? "\(error)"
      let hint = code == .validationFailure ? " (see 'vigil --help')" : ""
      FileHandle.standardError.write(Data("vigil: error: \(message.replacingOccurrences(of: "Error: ", with: ""))\(hint)\n".utf8))
      return code.rawValue
    }
  }
}

/// An error a command reports as one line, with its exit code.
public struct CLIError: Error, CustomStringConvertible {
  public var message: String
  public var exitCode: Int32
  public init(_ message: String, exitCode: Int32 = 1) {
    self.message = message
    self.exitCode = exitCode
  }
  public var description: String { message }
}
