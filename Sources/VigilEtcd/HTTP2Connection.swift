import GRPCCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS

/// Why one attempt on one connection failed; the client uses this to decide
/// whether another endpoint may be tried.
enum CallFailure: Error {
  /// Nothing reached etcd (connect failed, connection already closed): safe to retry anywhere.
  case notSent(EtcdError)
  /// The request may have reached etcd, then the stream or connection broke.
  case interrupted(EtcdError)
  /// The deadline passed; the outcome of a write is unknown.
  case timedOut(EtcdError)
  /// etcd answered with an error status.
  case status(EtcdError)

  var error: EtcdError {
    switch self {
    case .notSent(let e), .interrupted(let e), .timedOut(let e), .status(let e): e
    }
  }
}

/// One HTTP/2 connection to one etcd member, opened lazily and reopened after
/// it drops. Its ``GRPCConnectionHandler`` carries unary calls on a lean path
/// (a promise per call) and streaming calls for ``EtcdTransport``.
final class HTTP2Connection: Sendable {
  let endpoint: EtcdEndpoint
  let eventLoop: any EventLoop
  let settings: EtcdConnectionSettings
  private let sslContext: NIOSSLContext?
  private let state: NIOLoopBoundBox<State>
  private let counters = NIOLockedValueBox(ConnectionCounters())

  private enum State {
    case idle
    case connecting(EventLoopFuture<Ready>)
    case ready(Ready)
    case shutdown
  }

  struct Ready: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<GRPCConnectionHandler>
    let generation: Int
  }

  init(endpoint: EtcdEndpoint, sslContext: NIOSSLContext?, settings: EtcdConnectionSettings, eventLoop: any EventLoop) {
    self.endpoint = endpoint
    self.sslContext = sslContext
    self.settings = settings
    self.eventLoop = eventLoop
    self.state = NIOLoopBoundBox.makeBoxSendingValue(.idle, eventLoop: eventLoop)
  }

  /// How many TCP connections were opened, and how many dropped without being asked to.
  var statistics: ConnectionCounters { counters.withLockedValue { $0 } }

  /// A live connection, connecting first if needed.
  func ready() -> EventLoopFuture<Ready> {
    if eventLoop.inEventLoop { return readyOnLoop() }
    return eventLoop.flatSubmit { self.readyOnLoop() }
  }

  private func readyOnLoop() -> EventLoopFuture<Ready> {
    switch state.value {
    case .ready(let ready) where ready.channel.isActive && ready.handler.value.isUsable:
      return eventLoop.makeSucceededFuture(ready)
    case .connecting(let future):
      return future
    case .shutdown:
      return eventLoop.makeFailedFuture(
        CallFailure.notSent(EtcdError(.cancelled, "client is shut down", endpoint: endpoint)))
    case .idle, .ready:
      let future = connect()
      state.value = .connecting(future)
      future.whenComplete { result in
        guard case .connecting = self.state.value else { return }
        switch result {
        case .success(let ready): self.state.value = .ready(ready)
        case .failure: self.state.value = .idle
        }
      }
      return future
    }
  }

  private func connect() -> EventLoopFuture<Ready> {
    let endpoint = self.endpoint
    let sslContext = self.sslContext
    let settings = self.settings
    let generation = counters.withLockedValue { $0.attempts += 1; return $0.attempts }
    let handshake = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)
    let bootstrap = ClientBootstrap(group: eventLoop)
      .connectTimeout(settings.connectTimeout)
      .channelOption(.socketOption(.tcp_nodelay), value: 1)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let sync = channel.pipeline.syncOperations
          if let sslContext {
            let handler = try NIOSSLClientHandler(
              context: sslContext, serverHostname: endpoint.hostIsIPAddress ? nil : endpoint.host)
            try sync.addHandler(handler)
            let waiter = TLSHandshakeWaiter(promise: channel.eventLoop.makePromise(), endpoint: endpoint)
            handshake.withLockedValue { $0 = waiter.promise.futureResult }
            try sync.addHandler(waiter)
          }
          try sync.addHandler(
            NIOHTTP2Handler(
              mode: .client, connectionConfiguration: settings.http2Connection,
              streamConfiguration: settings.http2Stream))
          try sync.addHandler(
            GRPCConnectionHandler(
              endpoint: endpoint, eventLoop: channel.eventLoop, settings: settings,
              onGoAway: { [weak self] in self?.drain() }))
        }
      }
    return bootstrap.connect(host: endpoint.host, port: endpoint.port)
      .flatMapErrorThrowing { error in
        throw CallFailure.notSent(Self.describeConnectError(error, endpoint: endpoint))
      }
      .flatMap { channel in
        // With TLS the handshake must finish before the connection counts as up.
        self.waitForTLS(channel, handshake: handshake.withLockedValue { $0 }).flatMapThrowing {
          () throws -> NIOLoopBound<GRPCConnectionHandler> in
          NIOLoopBound(
            try channel.pipeline.syncOperations.handler(type: GRPCConnectionHandler.self), eventLoop: channel.eventLoop)
        }
        .flatMap { handler in
          handler.value.activation!.futureResult.map { handler }
        }
        .map { handler -> Ready in
          self.counters.withLockedValue { $0.established += 1 }
          channel.closeFuture.whenComplete { _ in self.connectionClosed(generation: generation) }
          return Ready(channel: channel, handler: handler, generation: generation)
        }
        .flatMapError { error in
          channel.close(promise: nil)
          return channel.eventLoop.makeFailedFuture(error)
        }
      }
  }

  /// Resolves when the TLS handshake succeeded (immediately without TLS).
  private func waitForTLS(_ channel: any Channel, handshake: EventLoopFuture<Void>?) -> EventLoopFuture<Void> {
    guard let handshake else { return channel.eventLoop.makeSucceededVoidFuture() }
    let promise = channel.eventLoop.makePromise(of: Void.self)
    handshake.cascade(to: promise)
    // A handshake that never completes is bounded by the connect timeout.
    let endpoint = self.endpoint
    let timeout = channel.eventLoop.scheduleTask(in: settings.connectTimeout) {
      promise.fail(CallFailure.notSent(EtcdError(.tlsFailure, "TLS handshake did not finish in time", endpoint: endpoint)))
    }
    promise.futureResult.whenComplete { _ in timeout.cancel() }
    return promise.futureResult
  }

  private func connectionClosed(generation: Int) {
    eventLoop.assertInEventLoop()
    switch state.value {
    case .ready(let ready) where ready.generation == generation:
      state.value = .idle
      counters.withLockedValue { $0.dropped += 1 }
    default:
      break
    }
  }

  /// Marks the connection unusable for new calls (after a GOAWAY); running calls finish.
  func drain() {
    eventLoop.execute {
      if case .ready = self.state.value { self.state.value = .idle }
    }
  }

  /// Closes the connection; later calls fail.
  func shutdown() -> EventLoopFuture<Void> {
    eventLoop.flatSubmit {
      let previous = self.state.value
      self.state.value = .shutdown
      switch previous {
      case .ready(let ready):
        return ready.channel.close().recover { _ in }
      case .connecting(let future):
        return future.flatMap { $0.channel.close() }.recover { _ in }
      case .idle, .shutdown:
        return self.eventLoop.makeSucceededVoidFuture()
      }
    }
  }

  // MARK: calls

  /// Sends one request message and returns the single response message.
  /// - Returns: a future failed with ``CallFailure``.
  func unary(path: String, request: [UInt8], metadata: [(String, String)], timeout: TimeAmount) -> EventLoopFuture<
    [UInt8]
  > {
    let promise = eventLoop.makePromise(of: [UInt8].self)
    let endpoint = self.endpoint
    eventLoop.execute {
      let headers = GRPCFraming.requestHeaders(path: path, endpoint: endpoint, timeout: timeout, metadata: metadata)
      let deadline = NIODeadline.now() + timeout
      // The common case: the connection is up, the call starts in this turn.
      if case .ready(let ready) = self.state.value, ready.channel.isActive, ready.handler.value.isUsable {
        ready.handler.value.startUnary(headers: headers, request: request, deadline: deadline, promise: promise)
        return
      }
      self.readyOnLoop().whenComplete { result in
        switch result {
        case .failure(let error):
          promise.fail(error as? CallFailure ?? .notSent(EtcdError(.unreachable, "\(error)", endpoint: endpoint)))
        case .success(let ready):
          ready.handler.value.startUnary(headers: headers, request: request, deadline: deadline, promise: promise)
        }
      }
    }
    return promise.futureResult
  }

  /// Opens a streaming call: sends its headers and returns the call, whose
  /// inbound parts arrive on `continuation`.
  func openStream(
    path: String, metadata: [(String, String)],
    continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation
  ) -> EventLoopFuture<StreamingCallHandle> {
    let endpoint = self.endpoint
    let maxSize = settings.maximumMessageSize
    return ready().flatMap { ready in
      let call = StreamingCall(continuation: continuation, maximumMessageSize: maxSize)
      let headers = GRPCFraming.requestHeaders(path: path, endpoint: endpoint, timeout: nil, metadata: metadata)
      let handle = StreamingCallHandle(call: NIOLoopBound(call, eventLoop: self.eventLoop), ready: ready)
      return ready.handler.value.startStreaming(call, headers: headers).map { handle }
    }
  }

  static func describeConnectError(_ error: any Error, endpoint: EtcdEndpoint) -> EtcdError {
    if let failure = error as? CallFailure { return failure.error }
    if let tls = error as? NIOSSLError {
      return EtcdError(.tlsFailure, "TLS handshake failed: \(tls)", endpoint: endpoint, cause: error)
    }
    if let io = error as? IOError {
      let reason: String
      switch io.errnoCode {
      case 111: reason = "connection refused"
      case 113: reason = "no route to host"
      case 101: reason = "network unreachable"
      default: reason = io.description
      }
      return EtcdError(.unreachable, reason, endpoint: endpoint, cause: error)
    }
    if let connect = error as? NIOConnectionError {
      if let first = connect.connectionErrors.first {
        return describeConnectError(first.error, endpoint: endpoint)
      }
      if connect.dnsAError != nil || connect.dnsAAAAError != nil {
        return EtcdError(.unreachable, "cannot resolve host \"\(endpoint.host)\"", endpoint: endpoint, cause: error)
      }
      return EtcdError(.unreachable, "connection failed", endpoint: endpoint, cause: error)
    }
    if let channel = error as? ChannelError, case .connectTimeout = channel {
      return EtcdError(.unreachable, "connect timed out", endpoint: endpoint, cause: error)
    }
    return EtcdError(.unreachable, "\(error)", endpoint: endpoint, cause: error)
  }
}

/// Connection statistics (tests assert on `dropped`).
public struct ConnectionCounters: Sendable, Hashable {
  /// Connect attempts made.
  public var attempts = 0
  /// Connections that came up.
  public var established = 0
  /// Established connections that closed without Vigil closing them.
  public var dropped = 0
}

/// Completes a promise when the TLS handshake finishes or fails.
private final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = Any
  let promise: EventLoopPromise<Void>
  let endpoint: EtcdEndpoint
  init(promise: EventLoopPromise<Void>, endpoint: EtcdEndpoint) {
    self.promise = promise
    self.endpoint = endpoint
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
      promise.succeed(())
      context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
    context.fireUserInboundEventTriggered(event)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    promise.fail(
      CallFailure.notSent(
        EtcdError(.tlsFailure, "TLS handshake failed: \(error)", endpoint: endpoint, cause: error)))
    context.fireErrorCaught(error)
  }

  func channelInactive(context: ChannelHandlerContext) {
    promise.fail(
      CallFailure.notSent(EtcdError(.tlsFailure, "connection closed during the TLS handshake", endpoint: endpoint)))
    context.fireChannelInactive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    // Also reached when the TCP connect itself failed; a completed promise ignores this.
    promise.fail(CallFailure.notSent(EtcdError(.unreachable, "connection closed before TLS started", endpoint: endpoint)))
  }
}

/// A streaming call as seen from async code: every operation hops to the
/// connection's event loop.
struct StreamingCallHandle: Sendable {
  let call: NIOLoopBound<StreamingCall>
  let ready: HTTP2Connection.Ready

  func send(_ message: [UInt8]) -> EventLoopFuture<Void> {
    ready.channel.eventLoop.flatSubmit {
      ready.handler.value.send(call.value, message: message, endStream: false)
    }
  }

  func finish() -> EventLoopFuture<Void> {
    ready.channel.eventLoop.flatSubmit {
      ready.handler.value.send(call.value, message: nil, endStream: true)
    }
  }

  func cancel() {
    ready.channel.eventLoop.execute { ready.handler.value.cancel(call.value) }
  }
}
