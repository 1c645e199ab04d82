import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A unix datagram socket standing in for systemd's notify socket: it
/// records every datagram a process sends to `NOTIFY_SOCKET`, with when it
/// arrived. Close it with ``close()``.
public final class NotifySocket: Sendable {
  public struct Message: Sendable, Hashable {
    public var text: String
    /// Seconds since 1970.
    public var at: Double
  }

  public let path: String
  private let fd: Int32
  private let received = Mutex<[Message]>([])
  private let stopped = Atomic<Bool>(false)

  /// Binds a socket at `path` (removed first if it exists) and starts reading.
  public init(path: String) throws {
    unlink(path)
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestTimeout("cannot create a datagram socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0 else {
      Glibc.close(fd)
      throw TestTimeout("cannot bind \(path): \(String(cString: strerror(errno)))")
    }
    var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    self.path = path
    self.fd = fd
    Thread.detachNewThread { [self] in self.readLoop() }
  }

  private func readLoop() {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while !stopped.load(ordering: .relaxed) {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      guard n > 0 else { continue }
      let text = String(decoding: buffer[0..<n], as: UTF8.self)
      let at = Date().timeIntervalSince1970
      received.withLock { $0.append(Message(text: text, at: at)) }
    }
    Glibc.close(fd)
    unlink(path)
  }

  /// Every datagram so far, oldest first.
  public var messages: [Message] { received.withLock { $0 } }

  /// Datagrams carrying `assignment` (e.g. `WATCHDOG=1`) among their lines.
  public func messages(containing assignment: String) -> [Message] {
    messages.filter { $0.text.split(separator: "\n").contains(Substring(assignment)) }
  }

  /// Stops reading and removes the socket.
  public func close() { stopped.store(true, ordering: .relaxed) }
}
