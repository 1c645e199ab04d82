import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An L4 TCP proxy: each client connection is relayed to one of the current backends (round robin); with no
/// backend it is closed at once. ``update(backends:)`` replaces the backends; connections to a backend no
/// longer listed are closed, so their clients reconnect — to the new ones.
public final class TCPProxy: Sendable {
  public struct Backend: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
      self.host = host
      self.port = port
    }
    /// `http://host:port`, `https://host:port` or `host:port`.
    public init?(url: String) {
      var rest = Substring(url)
      if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
      if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
      guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port)
      else { return nil }
      host = String(rest[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
      self.port = port
    }
    public var description: String { "\(host):\(port)" }
  }

  struct State {
    var backends: [Backend] = []
    var next = 0
    var connections: [ObjectIdentifier: (backend: Backend, channel: any Channel)] = [:]
    var accepted = 0
    var refused = 0
  }

  private let group: any EventLoopGroup
  private let state = NIOLockedValueBox(State())
  private let logger: Logger
  private let server: NIOLockedValueBox<(any Channel)?> = NIOLockedValueBox(nil)

  public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "vigil.proxy")) {
    self.group = group
    self.logger = logger
  }

  /// The address it listens on, once started.
  public var localAddress: SocketAddress? { server.withLockedValue { $0?.localAddress } }

  /// Where new connections go now.
  public var backends: [Backend] { state.withLockedValue { $0.backends } }

  /// Connections relayed now, and counts since start.
  public var stats: (open: Int, accepted: Int, refused: Int) {
    state.withLockedValue { ($0.connections.count, $0.accepted, $0.refused) }
  }

  /// Listens on `host:port` (port 0: any free one).
  public func start(host: String, port: Int) async throws {
    let channel = try await ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(ChannelOptions.autoRead, value: false)
      .childChannelInitializer { [self] inbound in
        accept(inbound)
        return inbound.eventLoop.makeSucceededVoidFuture()
      }
      .bind(host: host, port: port).get()
    server.withLockedValue { $0 = channel }
  }

  /// Stops listening and closes every relayed connection.
  public func stop() async {
    let channel = server.withLockedValue { s -> (any Channel)? in
      defer { s = nil }
      return s
    }
    try? await channel?.close()
    let open = state.withLockedValue { s -> [any Channel] in
      defer { s.connections = [:] }
      return s.connections.values.map(\.channel)
    }
    for c in open { try? await c.close() }
  }

  /// Keeps the backends up to date until cancelled: asks `fetch` every `interval` and applies what it
  /// answers; when it fails, or answers none (a Vigil just started knows no member healthy yet; a side with
  /// none healthy leaves nothing to move to), the last backends stay. `changed` hears each new set with the
  /// label `fetch` gave it (which side serves, for instance).
  public func follow(
    every interval: Duration, _ fetch: @Sendable () async throws -> (label: String, backends: [Backend]),
    changed: @Sendable (_ label: String, _ backends: [Backend]) -> Void = { _, _ in }
  ) async {
    var last: [Backend]?
    while !Task.isCancelled {
      do {
        let (label, backends) = try await fetch()
        if backends.isEmpty, let last, !last.isEmpty {
          try? await Task.sleep(for: interval)
          continue
        }
        if backends != last {
          changed(label, backends)
          last = backends
        }
        update(backends: backends)
      } catch {
        logger.warning("cannot read the endpoints; keeping the last ones", metadata: ["error": "\(error)"])
      }
      try? await Task.sleep(for: interval)
    }
  }

  /// Replaces the backends; connections to one no longer listed are closed.
  public func update(backends: [Backend]) {
    let stale = state.withLockedValue { s -> [any Channel] in
      guard s.backends != backends else { return [] }
      s.backends = backends
      s.next = 0
      let keep = Set(backends)
      return s.connections.values.filter { !keep.contains($0.backend) }.map(\.channel)
    }
    if !stale.isEmpty {
      logger.info("backends changed: closing connections to the old ones", metadata: ["closed": "\(stale.count)", "backends": "\(backends)"])
    }
    for c in stale { c.close(promise: nil) }
  }

  private func accept(_ inbound: any Channel) {
    let id = ObjectIdentifier(inbound)
    let picked = state.withLockedValue { s -> Backend? in
      guard !s.backends.isEmpty else {
        s.refused += 1
        return nil
      }
      let b = s.backends[s.next % s.backends.count]
      s.next += 1
      s.accepted += 1
      s.connections[id] = (b, inbound)
      return b
    }
    guard let backend = picked else {
      inbound.close(promise: nil)
      return
    }
    inbound.closeFuture.whenComplete { [state] _ in _ = state.withLockedValue { $0.connections.removeValue(forKey: id) } }
    let toClient = RelayHandler()
    let toBackend = RelayHandler()
    inbound.pipeline.addHandler(toBackend).whenFailure { _ in inbound.close(promise: nil) }
    ClientBootstrap(group: inbound.eventLoop)
      .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
      .channelOption(ChannelOptions.autoRead, value: false)
      .connectTimeout(.seconds(2))
      .channelInitializer { outbound in outbound.pipeline.addHandler(toClient) }
      .connect(host: backend.host, port: backend.port)
      .whenComplete { [logger] result in
        switch result {
        case .success(let outbound):
          // Both handlers run on the inbound channel's loop (the outbound one was made on it).
          toBackend.link(outbound)
          toClient.link(inbound)
          inbound.closeFuture.whenComplete { _ in outbound.close(promise: nil) }
          inbound.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in inbound.close(promise: nil) }
          outbound.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in outbound.close(promise: nil) }
        case .failure(let error):
          logger.warning("backend unreachable", metadata: ["backend": "\(backend)", "error": "\(error)"])
          inbound.close(promise: nil)
        }
      }
  }
}
