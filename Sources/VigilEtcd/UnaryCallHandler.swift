import NIOCore
import NIOHPACK
import NIOHTTP2

/// Runs one unary gRPC call on its own HTTP/2 stream and completes a promise
/// with the response message: no async sequences, no extra tasks, one
/// suspension for the caller. This is the path every unary etcd call takes.
final class UnaryCallHandler: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame.FramePayload
  typealias OutboundOut = HTTP2Frame.FramePayload

  private let headers: HPACKHeaders
  private let request: [UInt8]
  private let endpoint: EtcdEndpoint
  private let timeout: TimeAmount
  private let promise: EventLoopPromise<[UInt8]>
  private var deframer: GRPCMessageDeframer
  private var response: [UInt8]?
  private var sawResponseHeaders = false
  private var sent = false
  private var done = false
  private var timer: Scheduled<Void>?

  init(
    headers: HPACKHeaders, request: [UInt8], endpoint: EtcdEndpoint, timeout: TimeAmount,
    maximumMessageSize: Int, promise: EventLoopPromise<[UInt8]>
  ) {
    self.headers = headers
    self.request = request
    self.endpoint = endpoint
    self.timeout = timeout
    self.promise = promise
    self.deframer = GRPCMessageDeframer(maximumMessageSize: maximumMessageSize)
  }

  func handlerAdded(context: ChannelHandlerContext) {
    let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    timer = context.eventLoop.scheduleTask(in: timeout) {
      let (handler, context) = bound.value
      handler.timeoutFired(context: context)
    }
    if context.channel.isActive { send(context: context) }
  }

  private func timeoutFired(context: ChannelHandlerContext) {
    let ms = timeout.nanoseconds / 1_000_000
    fail(.timedOut(EtcdError(.timedOut, "no answer within \(ms) ms", endpoint: endpoint)))
    context.close(promise: nil)
  }

  func channelActive(context: ChannelHandlerContext) {
    send(context: context)
    context.fireChannelActive()
  }

  private func send(context: ChannelHandlerContext) {
    guard !sent else { return }
    sent = true
    context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
    let body = GRPCFraming.frame(request, allocator: context.channel.allocator)
    context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(body), endStream: true))), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .headers(let frame):
      if !sawResponseHeaders {
        sawResponseHeaders = true
        if let status = frame.headers.first(name: ":status"), status != "200" {
          fail(.status(EtcdError(.protocolError, "HTTP status \(status) instead of a gRPC answer", endpoint: endpoint)))
          context.close(promise: nil)
          return
        }
        if frame.endStream { finish(trailers: frame.headers, context: context) }
      } else {
        finish(trailers: frame.headers, context: context)
      }
    case .data(let frame):
      if case .byteBuffer(let bytes) = frame.data {
        deframer.append(bytes)
        do {
          if let message = try deframer.next() {
            response = message
          }
        } catch {
          fail(.status(error.at(endpoint)))
          context.close(promise: nil)
        }
      }
      if frame.endStream {
        fail(.interrupted(EtcdError(.protocolError, "stream ended without a gRPC status", endpoint: endpoint)))
      }
    case .rstStream(let code):
      fail(.interrupted(EtcdError(.unavailable, "etcd reset the stream (\(code))", endpoint: endpoint)))
    default:
      break
    }
  }

  private func finish(trailers: HPACKHeaders, context: ChannelHandlerContext) {
    guard let status = GRPCFraming.status(from: trailers) else {
      fail(.interrupted(EtcdError(.protocolError, "response has no grpc-status", endpoint: endpoint)))
      return
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
  }

  func channelInactive(context: ChannelHandlerContext) {
    let error = EtcdError(.unavailable, "connection closed before etcd answered", endpoint: endpoint)
    fail(sent ? .interrupted(error) : .notSent(error))
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    let wrapped = EtcdError(.unavailable, "stream failed: \(error)", endpoint: endpoint, cause: error)
    fail(sent ? .interrupted(wrapped) : .notSent(wrapped))
    context.close(promise: nil)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    fail(.interrupted(EtcdError(.unavailable, "stream closed", endpoint: endpoint)))
  }

  private func succeed(_ value: [UInt8]) {
    guard !done else { return }
    done = true
    timer?.cancel()
    promise.succeed(value)
  }

  private func fail(_ failure: CallFailure) {
    guard !done else { return }
    done = true
    timer?.cancel()
    promise.fail(failure)
  }
}
