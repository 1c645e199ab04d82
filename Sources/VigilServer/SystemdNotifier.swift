import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// systemd's notify protocol (`sd_notify`): one datagram per state change
/// (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`) to the unix socket
/// named by `NOTIFY_SOCKET`; `WATCHDOG_USEC` says how often systemd expects
/// `WATCHDOG=1` before it restarts the service (`WatchdogSec=` in the unit).
public struct SystemdNotifier: Sendable, Hashable {
  /// The socket path (`@name` for an abstract socket).
  public var socketPath: String
  /// systemd's watchdog timeout, if it watches this process.
  public var watchdogTimeout: Duration?

  public init(socketPath: String, watchdogTimeout: Duration? = nil) {
    self.socketPath = socketPath
    self.watchdogTimeout = watchdogTimeout
  }

  /// A bad notify setting, naming the variable, its value and what was expected.
  public struct SettingError: Error, CustomStringConvertible, Hashable {
    public var description: String
  }

  /// The notifier systemd set up for this process, nil when not started by systemd with `Type=notify`.
  /// - Throws: ``SettingError`` when `NOTIFY_SOCKET` or `WATCHDOG_USEC` is malformed.
  public static func fromEnvironment(
    _ environment: [String: String] = ProcessInfo.processInfo.environment, pid: Int32 = getpid()
  ) throws(SettingError) -> SystemdNotifier? {
    guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
    guard path.hasPrefix("/") || path.hasPrefix("@") else {
      throw SettingError(
        description: "NOTIFY_SOCKET: \"\(path)\" is not a socket path (expected an absolute path or @abstract-name)")
    }
    guard path.utf8.count < 108 else {
      throw SettingError(description: "NOTIFY_SOCKET: \"\(path)\" is longer than a unix socket path may be (107 bytes)")
    }
    var timeout: Duration?
    if let usec = environment["WATCHDOG_USEC"] {
      guard let n = UInt64(usec), n > 0 else {
        throw SettingError(description: "WATCHDOG_USEC: \"\(usec)\" is not a positive number of microseconds")
      }
      // WATCHDOG_PID, when set, names the process the watchdog is meant for.
      if let owner = environment["WATCHDOG_PID"], owner != String(pid) {
        timeout = nil
      } else {
        timeout = .microseconds(Int64(clamping: n))
      }
    }
    return SystemdNotifier(socketPath: path, watchdogTimeout: timeout)
  }

  /// How often to send `WATCHDOG=1`: half the timeout, as systemd advises.
  public var watchdogInterval: Duration? { watchdogTimeout.map { $0 / 2 } }

  /// Sends one notification (e.g. `"READY=1"`).
  /// - Returns: nil when sent, else why not (errno text).
  @discardableResult
  public func send(_ state: String) -> String? {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return String(cString: strerror(errno)) }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    var pathBytes = Array(socketPath.utf8)
    if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }  // abstract namespace
    let length = withUnsafeMutableBytes(of: &address.sun_path) { raw -> Int in
      let n = min(pathBytes.count, raw.count - 1)
      for i in 0..<n { raw[i] = pathBytes[i] }
      return n
    }
    let addressLength = socklen_t(MemoryLayout<sa_family_t>.size + length + (pathBytes.first == 0 ? 0 : 1))
    let message = Array(state.utf8)
    let sent = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, addressLength) }
      }
    }
    return sent < 0 ? String(cString: strerror(errno)) : nil
  }
}
