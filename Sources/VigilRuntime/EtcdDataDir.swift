import Foundation

/// etcd's on-disk layout (3.4), decided here once: a member's data dir holds
/// `member/snap/db` (the backend database) and `member/wal/` (the log).
public enum EtcdDataDir {
  /// Whether `path` holds a member's data (its backend database exists). A data dir without it was wiped or
  /// lost: the member must be replaced, never restarted on it.
  public static func hasData(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("member/snap/db"))
  }
}
