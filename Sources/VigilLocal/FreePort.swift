#if canImport(Glibc)
  import Glibc
#endif

/// Picks TCP ports on 127.0.0.1 that are free right now, by binding port 0
/// and reading back the number the kernel chose.
public enum FreePort {
  /// - Throws: ``LocalClusterError`` when no socket can be bound.
  public static func pick(count: Int, host: String = "127.0.0.1") throws(LocalClusterError) -> [Int] {
    var sockets: [Int32] = []
    defer { for s in sockets { close(s) } }
    var ports: [Int] = []
    for _ in 0..<count {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      guard fd >= 0 else { throw LocalClusterError("cannot open a socket to pick a free port (errno \(errno))") }
      sockets.append(fd)
      var addr = sockaddr_in()
      addr.sin_family = sa_family_t(AF_INET)
      addr.sin_port = 0
      inet_pton(AF_INET, host, &addr.sin_addr)
      let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      guard bound == 0 else { throw LocalClusterError("cannot bind \(host):0 to pick a free port (errno \(errno))") }
      var len = socklen_t(MemoryLayout<sockaddr_in>.size)
      _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
      }
      ports.append(Int(UInt16(bigEndian: addr.sin_port)))
    }
    return ports
  }
}
