import Foundation
import VigilRuntime

/// Where one member's log is read.
public enum MemberLogSource: Sendable, Hashable {
  /// A file etcd writes (a local cluster's captured log, `/var/log/etcd/NAME.log`).
  case file(String)
  /// A command that prints the member's recent lines (`journalctl`, `kubectl logs`, `docker logs`), run with
  /// `VIGIL_LOG_SINCE` set to the time of the previous read (seconds since 1970).
  case command([String], environment: [String: String])
}

/// Reads what is new in members' logs. A file is read from where the previous read ended — from its end the
/// first time (lines written before Vigil looked are not news), from its start again when it got shorter
/// (rotated or truncated) — whole lines only, at most ``maxRead`` bytes a turn. A command's output counts
/// only the lines it did not print before.
actor MemberLogReader {
  static let maxRead = 1 << 20
  static let seenLimit = 4096
  static let commandTimeout: Duration = .seconds(10)

  private var offsets: [String: UInt64] = [:]
  private var seen: [String: (set: Set<String>, order: [String])] = [:]
  private var lastRead: [String: Double] = [:]

  /// New text of `source` since the previous read under `key`; nil when it cannot be read (the reason is
  /// thrown).
  func read(_ key: String, _ source: MemberLogSource, now: Double) async throws -> Substring {
    switch source {
    case .file(let path): return try readFile(key, path)
    case .command(let command, let environment): return try await runCommand(key, command, environment, now: now)
    }
  }

  /// Forgets the members under `prefix` (one cluster's) that are not in `keep` (removed from it).
  func forget(under prefix: String, except keep: Set<String>) {
    func stays(_ key: String) -> Bool { !key.hasPrefix(prefix) || keep.contains(key) }
    offsets = offsets.filter { stays($0.key) }
    seen = seen.filter { stays($0.key) }
    lastRead = lastRead.filter { stays($0.key) }
  }

  private func readFile(_ key: String, _ path: String) throws -> Substring {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw RuntimeError("cannot open the log file \(path)")
    }
    defer { try? handle.close() }
    let size = try handle.seekToEnd()
    guard var from = offsets[key] else {
      offsets[key] = size
      return ""
    }
    if size < from { from = 0 }
    guard size > from else { return "" }
    try handle.seek(toOffset: from)
    let data = try handle.read(upToCount: Int(min(UInt64(Self.maxRead), size - from))) ?? Data()
    // Whole lines only: a line still being written is read next time (unless a single line fills the read).
    let end = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? (data.count == Self.maxRead ? data.count : 0)
    offsets[key] = from + UInt64(end)
    return Substring(String(decoding: data.prefix(end), as: UTF8.self))
  }

  private func runCommand(_ key: String, _ command: [String], _ environment: [String: String], now: Double)
    async throws -> Substring
  {
    guard let program = command.first else { throw RuntimeError("the logs command is empty") }
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    env["VIGIL_LOG_SINCE"] = String(Int(lastRead[key] ?? now - 60))
    let executable = LocalCluster.findExecutable(program) ?? program
    let result = try await ChildProcess.run(
      executable, Array(command.dropFirst()), environment: env, timeout: Self.commandTimeout)
    guard result.status == 0 else {
      let said = (result.stderr.isEmpty ? result.stdout : result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
      throw RuntimeError("the logs command \(program) exited with status \(result.status): \(said.suffix(300))")
    }
    let first = lastRead[key] == nil
    lastRead[key] = now
    var state = seen[key] ?? ([], [])
    var fresh: [Substring] = []
    // Bounded like a file read: the newest lines of an outsized output.
    for line in result.stdout.suffix(Self.maxRead).split(separator: "\n") {
      let text = String(line)
      guard state.set.insert(text).inserted else { continue }
      state.order.append(text)
      fresh.append(line)
    }
    if state.order.count > Self.seenLimit {
      for old in state.order.prefix(state.order.count - Self.seenLimit) { state.set.remove(old) }
      state.order.removeFirst(state.order.count - Self.seenLimit)
    }
    seen[key] = state
    // The first run only learns what is already there.
    return first ? "" : Substring(fresh.joined(separator: "\n"))
  }
}
