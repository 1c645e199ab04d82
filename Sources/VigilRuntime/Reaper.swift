import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A small shell process that outlives nothing it guards: it waits for this
/// process to die (even by `kill -9`), then runs a clean-up script. Kill it
/// once the owner has cleaned up itself.
public enum Reaper {
  /// Starts `/bin/sh -c` with a loop that waits for this process, then `cleanup`.
  /// - Throws: when the shell cannot be started.
  public static func start(cleanup: String) throws -> Process {
    let script = """
      while kill -0 \(getpid()) 2>/dev/null; do sleep 0.5; done
      \(cleanup)
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }
}
