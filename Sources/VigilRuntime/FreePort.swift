#if canImport(Glibc)
  import Glibc
#endif
import Synchronization

/// Picks TCP ports on 127.0.0.1 that are free right now. Ports come from
/// below Linux's ephemeral range (32768–60999), so an outgoing connection of
/// another process cannot take a port between picking it and etcd binding it,
/// and a port is handed out once per process, so clusters started at the same
/// time never get the same one.
public enum FreePort {
  static let range = 20_000..<32_000
  private static let handedOut = Mutex<Set<Int>>([])

  /// - Throws: ``LocalClusterError`` when no free port can be found.
  public static func pick(count: Int, host: String = "127.0.0.1") throws(LocalClusterError) -> [Int] {
    var sockets: [Int32] = []
    defer { for s in sockets { close(s) } }
    var ports: [Int] = []
    var attempts = 0
    while ports.count < count {
      attempts += 1
      guard attempts < 10_000 else {
        throw LocalClusterError("no free port on \(host) in \(range.lowerBound)..<\(range.upperBound)")
      }
      let candidate = Int.random(in: range)
      let fresh = handedOut.withLock { taken in
        if taken.count > range.count / 2 { taken.removeAll() }  // a very long-lived process recycles
        return taken.insert(candidate).inserted
      }
      guard fresh else { continue }
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      guard fd >= 0 else { throw LocalClusterError("cannot open a socket to pick a free port (errno \(errno))") }
      var addr = sockaddr_in()
      addr.sin_family = sa_family_t(AF_INET)
      addr.sin_port = UInt16(candidate).bigEndian
      inet_pton(AF_INET, host, &addr.sin_addr)
      let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      if bound == 0 {
        sockets.append(fd)  // held until every port is picked, so none is picked twice
        ports.append(candidate)
      } else {
        close(fd)
      }
    }
    return ports
  }
}
