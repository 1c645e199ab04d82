import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Runs every gRPC call of one HTTP/2 connection directly on the connection's
/// frames: no child channel, pipeline or promise chain per call. A unary call
/// is two frames out, a few frames in, and one promise; streaming calls feed
/// an `AsyncThrowingStream`. The handler also owns flow control (connection
/// and stream windows), write coalescing and call deadlines.
///
/// All methods run on the connection's event loop.
final class GRPCConnectionHandler: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  private let endpoint: EtcdEndpoint
  private let eventLoop: any EventLoop
  private let settings: EtcdConnectionSettings
  private let onGoAway: @Sendable () -> Void
  private var context: ChannelHandlerContext?
  private var nextStreamID: Int32 = 1
  private var calls: [HTTP2StreamID: Call] = [:]
  private var closed = false
  private var flushPending = false
  private var sweepScheduled = false
  private var connectionUnacked = 0

  private enum Call {
    case unary(UnaryCall)
    case streaming(StreamingCall)
  }

  init(
    endpoint: EtcdEndpoint, eventLoop: any EventLoop, settings: EtcdConnectionSettings,
    onGoAway: @escaping @Sendable () -> Void
  ) {
    self.endpoint = endpoint
    self.eventLoop = eventLoop
    self.settings = settings
    self.onGoAway = onGoAway
  }

  var isUsable: Bool { context != nil && !closed }

  // MARK: lifecycle

  /// Succeeds once the HTTP/2 preface is out (the handler before this one
  /// sends it on channelActive); no stream may start earlier. NIO completes a
  /// connect promise before it fires channelActive, so the connection waits on this.
  private(set) var activation: EventLoopPromise<Void>?

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    activation = context.eventLoop.makePromise(of: Void.self)
    if context.channel.isActive { activated(context: context) }
  }

  func channelActive(context: ChannelHandlerContext) {
    activated(context: context)
    context.fireChannelActive()
  }

  private func activated(context: ChannelHandlerContext) {
    openConnectionWindow(context: context)
    activation?.succeed(())
  }

  private var windowOpened = false

  /// HTTP/2 starts every connection with a 64 KiB window; raise it once.
  private func openConnectionWindow(context: ChannelHandlerContext) {
    guard !windowOpened else { return }
    windowOpened = true
    let increment = settings.connectionWindowSize - 65_535
    if increment > 0 {
      context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
      scheduleFlush()
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    closed = true
    activation?.fail(CallFailure.notSent(EtcdError(.unreachable, "connection closed at once", endpoint: endpoint)))
    failAll(reason: "connection closed before etcd answered")
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    closed = true
    failAll(reason: "connection failed: \(error)")
    context.close(promise: nil)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    closed = true
    activation?.fail(CallFailure.notSent(EtcdError(.unreachable, "connection closed at once", endpoint: endpoint)))
    failAll(reason: "connection closed")
    self.context = nil
  }

  /// Fails every call in flight: their requests may have reached etcd.
  private func failAll(reason: String) {
    let all = calls
    calls.removeAll()
    for (_, call) in all {
      switch call {
      case .unary(let u):
        u.fail(.interrupted(EtcdError(.unavailable, reason, endpoint: endpoint)))
      case .streaming(let s):
        s.end(code: .unavailable, message: "etcd \(endpoint): \(reason)")
      }
    }
  }

  // MARK: unary calls

  func startUnary(
    headers: HPACKHeaders, request: [UInt8], deadline: NIODeadline, promise: EventLoopPromise<[UInt8]>
  ) {
    guard let context, !closed else {
      promise.fail(CallFailure.notSent(EtcdError(.unavailable, "connection is closed", endpoint: endpoint)))
      return
    }
    let id = allocateStreamID()
    let call = UnaryCall(
      promise: promise, deadline: deadline, maximumMessageSize: settings.maximumMessageSize, endpoint: endpoint)
    calls[id] = .unary(call)
    context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
    let body = GRPCFraming.frame(request, allocator: context.channel.allocator)
    context.write(
      wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(body), endStream: true)))),
      promise: nil)
    scheduleFlush()
    scheduleSweep()
  }

  // MARK: streaming calls

  /// Registers a streaming call and sends its headers.
  func startStreaming(_ call: StreamingCall, headers: HPACKHeaders) -> EventLoopFuture<Void> {
    guard let context, !closed else {
      call.end(code: .unavailable, message: "etcd \(endpoint): connection is closed")
      return eventLoop.makeFailedFuture(EtcdError(.unavailable, "connection is closed", endpoint: endpoint))
    }
    let id = allocateStreamID()
    call.streamID = id
    calls[id] = .streaming(call)
    let promise = context.eventLoop.makePromise(of: Void.self)
    context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: promise)
    scheduleFlush()
    return promise.futureResult
  }

  /// Sends a message (or the end of the request stream) on a streaming call.
  func send(_ call: StreamingCall, message: [UInt8]?, endStream: Bool) -> EventLoopFuture<Void> {
    guard let context, !closed, let id = call.streamID, calls[id] != nil else {
      return eventLoop.makeFailedFuture(EtcdError(.unavailable, "stream is closed", endpoint: endpoint))
    }
    let body = message.map { GRPCFraming.frame($0, allocator: context.channel.allocator) } ?? ByteBuffer()
    let promise = context.eventLoop.makePromise(of: Void.self)
    context.write(
      wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(body), endStream: endStream)))),
      promise: promise)
    scheduleFlush()
    return promise.futureResult
  }

  /// Cancels a streaming call (RST_STREAM) if it is still open.
  func cancel(_ call: StreamingCall) {
    guard let id = call.streamID, calls.removeValue(forKey: id) != nil else { return }
    call.end(code: .cancelled, message: "cancelled")
    reset(id)
  }

  // MARK: inbound

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = unwrapInboundIn(data)
    if frame.streamID == .rootStream {
      if case .goAway(let lastStreamID, _, _) = frame.payload { goAway(lastStreamID: lastStreamID) }
      return
    }
    guard let call = calls[frame.streamID] else { return }
    switch frame.payload {
    case .headers(let headers):
      switch call {
      case .unary(let u):
        if let failure = u.receive(headers: headers.headers, endStream: headers.endStream) {
          calls[frame.streamID] = nil
          if failure { reset(frame.streamID) }
        }
      case .streaming(let s):
        if s.receive(headers: headers.headers, endStream: headers.endStream) { calls[frame.streamID] = nil }
      }
    case .data(let data):
      guard case .byteBuffer(let bytes) = data.data else { return }
      consumed(bytes.readableBytes, on: frame.streamID)
      switch call {
      case .unary(let u):
        if u.receive(data: bytes, endStream: data.endStream) {
          calls[frame.streamID] = nil
          reset(frame.streamID)
        }
      case .streaming(let s):
        if s.receive(data: bytes, endStream: data.endStream) {
          calls[frame.streamID] = nil
          reset(frame.streamID)
        }
      }
    case .rstStream(let code):
      calls[frame.streamID] = nil
      switch call {
      case .unary(let u):
        u.fail(.interrupted(EtcdError(.unavailable, "etcd reset the stream (\(code))", endpoint: endpoint)))
      case .streaming(let s):
        s.end(code: .unavailable, message: "etcd \(endpoint) reset the stream (\(code))")
      }
    default:
      break
    }
  }

  /// Returns flow-control credit as data is consumed, in large steps.
  private func consumed(_ bytes: Int, on id: HTTP2StreamID) {
    guard bytes > 0, let context else { return }
    connectionUnacked += bytes
    if connectionUnacked >= settings.connectionWindowSize / 2 {
      context.write(
        wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connectionUnacked))),
        promise: nil)
      connectionUnacked = 0
      scheduleFlush()
    }
    // Streams get credit back as they are read; so do unary calls, whose one response may outgrow the stream's
    // initial window (a range of large values: without credit it would stall until its deadline).
    let unacked: Int
    switch calls[id] {
    case .streaming(let call)?:
      call.unacked += bytes
      unacked = call.unacked
    case .unary(let call)?:
      call.unacked += bytes
      unacked = call.unacked
    case nil:
      return
    }
    if unacked >= settings.streamWindowSize / 2 {
      context.write(
        wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: unacked))), promise: nil)
      switch calls[id] {
      case .streaming(let call)?: call.unacked = 0
      case .unary(let call)?: call.unacked = 0
      case nil: break
      }
      scheduleFlush()
    }
  }

  /// Streams above `lastStreamID` were never processed by etcd: safe to retry elsewhere.
  private func goAway(lastStreamID: HTTP2StreamID) {
    closed = true
    onGoAway()
    for (id, call) in calls where id > lastStreamID {
      calls[id] = nil
      switch call {
      case .unary(let u):
        u.fail(.notSent(EtcdError(.unavailable, "etcd is going away (GOAWAY)", endpoint: endpoint)))
      case .streaming(let s):
        s.end(code: .unavailable, message: "etcd \(endpoint) is going away (GOAWAY)")
      }
    }
  }

  // MARK: helpers

  private func allocateStreamID() -> HTTP2StreamID {
    let id = HTTP2StreamID(nextStreamID)
    nextStreamID += 2
    if nextStreamID > Int32.max - 2 {
      // Stream ids are spent: new calls go to a fresh connection.
      closed = true
      onGoAway()
    }
    return id
  }

  private func reset(_ id: HTTP2StreamID) {
    guard let context else { return }
    context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.cancel))), promise: nil)
    scheduleFlush()
  }

  /// Many calls started in one event-loop turn leave in one write.
  private func scheduleFlush() {
    guard !flushPending, let context else { return }
    flushPending = true
    let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    context.eventLoop.execute {
      let (handler, context) = bound.value
      handler.flushPending = false
      context.flush()
    }
  }

  /// Checks unary deadlines every `deadlineResolution` while calls are in flight
  /// (one timer per connection instead of one per call).
  private func scheduleSweep() {
    guard !sweepScheduled, let context else { return }
    sweepScheduled = true
    let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
    context.eventLoop.scheduleTask(in: settings.deadlineResolution) {
      bound.value.sweep()
    }
  }

  private func sweep() {
    sweepScheduled = false
    let now = NIODeadline.now()
    var anyUnary = false
    for (id, call) in calls {
      guard case .unary(let u) = call else { continue }
      if u.deadline <= now {
        calls[id] = nil
        u.timedOut()
        reset(id)
      } else {
        anyUnary = true
      }
    }
    if anyUnary { scheduleSweep() }
  }
}

/// State of one unary call.
final class UnaryCall {
  /// Response bytes read since the stream's window was last widened.
  var unacked = 0
  private let promise: EventLoopPromise<[UInt8]>
  let deadline: NIODeadline
  private let endpoint: EtcdEndpoint
  private var deframer: GRPCMessageDeframer
  private var response: [UInt8]?
  private var sawHeaders = false
  private var done = false

  init(promise: EventLoopPromise<[UInt8]>, deadline: NIODeadline, maximumMessageSize: Int, endpoint: EtcdEndpoint) {
    self.promise = promise
    self.deadline = deadline
    self.endpoint = endpoint
    self.deframer = GRPCMessageDeframer(maximumMessageSize: maximumMessageSize)
  }

  /// - Returns: nil while the call goes on; false when it finished normally;
  ///   true when it failed and the stream should be reset.
  func receive(headers: HPACKHeaders, endStream: Bool) -> Bool? {
    if !sawHeaders {
      sawHeaders = true
      if let status = headers.first(name: ":status"), status != "200" {
        fail(.status(EtcdError(.protocolError, "HTTP status \(status) instead of a gRPC answer", endpoint: endpoint)))
        return true
      }
      guard endStream else { return nil }
    }
    guard let status = GRPCFraming.status(from: headers) else {
      fail(.interrupted(EtcdError(.protocolError, "response has no grpc-status", endpoint: endpoint)))
      return !endStream
    }
    if status.code == GRPCStatusCode.ok {
      if let response {
        succeed(response)
      } else {
        fail(.status(EtcdError(.protocolError, "OK status without a response message", endpoint: endpoint)))
      }
    } else {
      fail(.status(EtcdError.fromStatus(code: status.code, message: status.message, endpoint: endpoint)))
    }
    return !endStream
  }

  /// - Returns: true when the call failed and is over.
  func receive(data: ByteBuffer, endStream: Bool) -> Bool {
    deframer.append(data)
    do {
      if let message = try deframer.next() { response = message }
    } catch {
      fail(.status(error.at(endpoint)))
      return true
    }
    if endStream {
      fail(.interrupted(EtcdError(.protocolError, "stream ended without a gRPC status", endpoint: endpoint)))
      return true
    }
    return false
  }

  func timedOut() {
    fail(.timedOut(EtcdError(.timedOut, "no answer in time", endpoint: endpoint)))
  }

  private func succeed(_ value: [UInt8]) {
    guard !done else { return }
    done = true
    promise.succeed(value)
  }

  func fail(_ failure: CallFailure) {
    guard !done else { return }
    done = true
    promise.fail(failure)
  }
}

/// State of one streaming call; inbound parts go to an `AsyncThrowingStream`.
final class StreamingCall {
  var streamID: HTTP2StreamID?
  var unacked = 0
  private let continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation
  private var deframer: GRPCMessageDeframer
  private var sawHeaders = false
  private var finished = false

  init(
    continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation, maximumMessageSize: Int
  ) {
    self.continuation = continuation
    self.deframer = GRPCMessageDeframer(maximumMessageSize: maximumMessageSize)
  }

  /// - Returns: true when the call is over.
  func receive(headers: HPACKHeaders, endStream: Bool) -> Bool {
    if !sawHeaders {
      sawHeaders = true
      if let status = headers.first(name: ":status"), status != "200" {
        end(code: .unknown, message: "HTTP status \(status) instead of a gRPC answer")
        return true
      }
      if !endStream {
        continuation.yield(.metadata(Self.metadata(headers)))
        return false
      }
    }
    guard let status = GRPCFraming.status(from: headers) else {
      end(code: .internalError, message: "response has no grpc-status")
      return true
    }
    let code = Status.Code(rawValue: status.code) ?? .unknown
    finished = true
    continuation.yield(.status(Status(code: code, message: status.message), Self.metadata(headers)))
    continuation.finish()
    return true
  }

  /// - Returns: true when the call failed and is over.
  func receive(data: ByteBuffer, endStream: Bool) -> Bool {
    deframer.append(data)
    do {
      while let message = try deframer.next() { continuation.yield(.message(message)) }
    } catch {
      end(code: .internalError, message: error.description)
      return true
    }
    if endStream {
      end(code: .internalError, message: "stream ended without a gRPC status")
      return true
    }
    return false
  }

  func end(code: Status.Code, message: String) {
    guard !finished else { return }
    finished = true
    continuation.yield(.status(Status(code: code, message: message), [:]))
    continuation.finish()
  }

  private static func metadata(_ headers: HPACKHeaders) -> Metadata {
    var metadata = Metadata()
    for (name, value, _) in headers where !name.hasPrefix(":") {
      metadata.addString(value, forKey: name)
    }
    return metadata
  }
}
