import NIOCore
import NIOPosix
import VigilCore
import VigilEtcd

/// `tcp`: can a connection be opened to `host:port` within the timeout?
public struct TCPProbe: Sendable {
  public let name: String
  public let target: String
  public let host: String
  public let port: Int
  /// The address, when the host is an IP literal: connected to directly, with no name lookup per run
  /// (a lookup cost more than the connect itself).
  let address: SocketAddress?

  public init(name: String, target: String, host: String, port: Int) {
    self.name = name
    self.target = target
    self.host = host
    self.port = port
    self.address = try? SocketAddress(ipAddress: host, port: port)
  }

  public func run(timeout: TimeAmount, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async
    -> ProbeResult
  {
    let clock = ContinuousClock()
    let start = clock.now
    do {
      let bootstrap = ClientBootstrap(group: group).connectTimeout(timeout)
      let channel =
        if let address { try await bootstrap.connect(to: address).get() } else {
          try await bootstrap.connect(host: host, port: port).get()
        }
      let latency = start.duration(to: clock.now)
      try? await channel.close()
      return ProbeResult(
        probe: name, target: target, status: .ok, failure: nil, message: "connected to \(host):\(port)",
        latency: latency, steps: [ProbeStep(name: "connect", latency: latency, succeeded: true)], metrics: [:])
    } catch {
      let latency = start.duration(to: clock.now)
      let described = HTTP2ConnectErrors.describe(error, host: host, port: port)
      return ProbeResult(
        probe: name, target: target, status: .critical, failure: described.kind, message: described.message,
        latency: latency, steps: [ProbeStep(name: "connect", latency: latency, succeeded: false)], metrics: [:])
    }
  }
}

/// Names a failed connect the way the detector needs it.
enum HTTP2ConnectErrors {
  static func describe(_ error: any Error, host: String, port: Int) -> (kind: ProbeFailureKind, message: String) {
    if let io = error as? IOError, io.errnoCode == 111 {
      return (.refused, "connect to \(host):\(port): connection refused")
    }
    if let connect = error as? NIOConnectionError, let first = connect.connectionErrors.first {
      return describe(first.error, host: host, port: port)
    }
    if let channel = error as? ChannelError, case .connectTimeout = channel {
      return (.timeout, "connect to \(host):\(port): timed out")
    }
    return (.other, "connect to \(host):\(port): \(error)")
  }
}
