import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a finished child process left behind.
public struct ChildProcessResult: Sendable {
  public var status: Int32
  public var stdout: String
  public var stderr: String
}

/// Runs a program to completion from async code. Output goes to scratch
/// files and the process is polled: Foundation's `waitUntilExit` spins a run
/// loop on the calling thread, which must not be a Swift concurrency thread.
public enum ChildProcess {
  /// - Throws: when the program cannot be started. A program still running at
  ///   `timeout` is killed and reported with status -9.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    currentDirectory: String? = nil, timeout: Duration = .seconds(600)
  ) async throws -> ChildProcessResult {
    let fm = FileManager.default
    let base = fm.temporaryDirectory.appendingPathComponent("vigil-child-\(UUID().uuidString)").path
    let outPath = base + ".out"
    let errPath = base + ".err"
    _ = fm.createFile(atPath: outPath, contents: nil)
    _ = fm.createFile(atPath: errPath, contents: nil)
    defer {
      try? fm.removeItem(atPath: outPath)
      try? fm.removeItem(atPath: errPath)
    }
    guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
      throw LocalClusterError("cannot create scratch files for \(executable)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch {
      try? out.close()
      try? err.close()
      throw LocalClusterError("cannot run \(executable): \(error.localizedDescription)")
    }
    try? out.close()
    try? err.close()
    let deadline = ContinuousClock.now + timeout
    var killed = false
    while process.isRunning {
      if !killed, ContinuousClock.now > deadline {
        kill(process.processIdentifier, SIGKILL)
        killed = true
      }
      try? await Task.sleep(for: .milliseconds(5))
    }
    let stdout = String(decoding: fm.contents(atPath: outPath) ?? Data(), as: UTF8.self)
    let stderr = String(decoding: fm.contents(atPath: errPath) ?? Data(), as: UTF8.self)
    return ChildProcessResult(status: killed ? -9 : process.terminationStatus, stdout: stdout, stderr: stderr)
  }
}
