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

/// Runs a program to completion from async code: `posix_spawn`, output to
/// scratch files, and `waitpid(WNOHANG)` polling. The program counts as done
/// when it exits, even if it left a daemon behind that inherited its
/// descriptors (a start script that runs `etcd &`): Foundation's `Process`
/// would wait for that daemon too.
public enum ChildProcess {
  /// - Parameter executable: the program's full path (no `PATH` search).
  /// - Throws: when the program cannot be started. A program still running at
  ///   `timeout` is killed and reported with status -9.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    timeout: Duration = .seconds(600)
  ) async throws -> ChildProcessResult {
    let fm = FileManager.default
    let base = fm.temporaryDirectory.appendingPathComponent("vigil-child-\(UUID().uuidString)").path
    let outPath = base + ".out"
    let errPath = base + ".err"
    defer {
      try? fm.removeItem(atPath: outPath)
      try? fm.removeItem(atPath: errPath)
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    // Nothing else is inherited: a daemon the program leaves behind must not hold Vigil's sockets or files.
    // (glibc ≥ 2.34 has it; Swift's Glibc module does not export it, so it is looked up.)
    if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // Default signal handling in the child (the parent may ignore SIGPIPE).
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGPIPE)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in env { free(p) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, env)
    guard spawned == 0 else {
      throw LocalClusterError("cannot run \(executable): \(String(cString: strerror(spawned)))")
    }
    let deadline = ContinuousClock.now + timeout
    var killed = false
    var status: Int32 = 0
    while true {
      let r = waitpid(pid, &status, WNOHANG)
      if r == pid || (r == -1 && errno != EINTR) { break }
      if !killed, ContinuousClock.now > deadline {
        kill(pid, SIGKILL)
        killed = true
      }
      try? await Task.sleep(for: .milliseconds(5))
    }
    let stdout = String(decoding: fm.contents(atPath: outPath) ?? Data(), as: UTF8.self)
    let stderr = String(decoding: fm.contents(atPath: errPath) ?? Data(), as: UTF8.self)
    let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
    return ChildProcessResult(status: killed ? -9 : exit, stdout: stdout, stderr: stderr)
  }

  typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
  static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
    unsafeBitCast($0, to: AddCloseFrom.self)
  }
}
