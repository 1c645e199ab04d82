import Foundation

/// Where a throw-away etcd (a verification, a restore's offline rebuild) keeps its data: memory-backed
/// `/dev/shm` when it has room — every write there skips the disk's fsync, and nothing in it needs to
/// survive a crash — else the given directory.
enum ScratchSpace {
  /// A lone scratch member elects itself after one election timeout: a short one (10 ms heartbeats, 100 ms
  /// timeout; etcd wants the timeout at least 5 heartbeats) starts it sooner. Nothing else talks to it.
  static let fastElection = ["--heartbeat-interval", "10", "--election-timeout", "100"]

  static func directory(fallback: String, name: String, needs bytes: Int64) -> String {
    let shm = "/dev/shm"
    if let attributes = try? FileManager.default.attributesOfFileSystem(forPath: shm),
      let free = (attributes[.systemFreeSize] as? NSNumber)?.int64Value, free > 3 * bytes + (64 << 20),
      FileManager.default.isWritableFile(atPath: shm)
    {
      return "\(shm)/vigil-\(name)-\(UUID().uuidString.prefix(8))"
    }
    return (fallback as NSString).appendingPathComponent(name)
  }
}
