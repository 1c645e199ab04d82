import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A file replaced whole or not at all, and on disk when the call returns: the new content goes to a
/// temporary file beside it, which is fsynced, renamed over the target, and the directory fsynced — a crash
/// leaves the old file or the new one, never a torn one.
public enum DurableFile {
  public struct Failure: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  /// Writes `data` to `path` (through `path` + `suffix`).
  public static func write(_ data: Data, to path: String, suffix: String = ".tmp") throws(Failure) {
    let temporary = path + suffix
    guard FileManager.default.createFile(atPath: temporary, contents: data) else {
      throw Failure(description: "cannot write \"\(temporary)\": \(String(cString: strerror(errno)))")
    }
    try commit(temporary, to: path)
  }

  /// fsyncs `temporary`, renames it over `target` and fsyncs the directory.
  public static func commit(_ temporary: String, to target: String) throws(Failure) {
    try fsync(path: temporary)
    guard rename(temporary, target) == 0 else {
      throw Failure(description: "cannot rename \"\(temporary)\" to \"\(target)\": \(String(cString: strerror(errno)))")
    }
    try fsync(path: (target as NSString).deletingLastPathComponent)
  }

  /// Flushes a file's or directory's data to disk.
  public static func fsync(path: String) throws(Failure) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw Failure(description: "cannot open \"\(path)\" to sync it: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard Glibc.fsync(fd) == 0 else {
      throw Failure(description: "cannot sync \"\(path)\": \(String(cString: strerror(errno)))")
    }
  }
}
