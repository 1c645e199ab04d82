import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// A grpc-swift-2 `ClientTransport` on Vigil's own HTTP/2 connection, so the
/// generated stubs run over a connection whose limits Vigil sets (see
/// ``EtcdConnectionSettings``). Streaming calls (watch, lease keep-alive,
/// snapshot) use it; unary calls take ``HTTP2Connection/unary(path:request:metadata:timeout:)``.
struct EtcdTransport: ClientTransport {
  typealias Bytes = [UInt8]

  let connection: HTTP2Connection

  var retryThrottle: RetryThrottle? { nil }

  /// Connections open lazily on the first call, so there is nothing to run.
  func connect() async throws {}

  func beginGracefulShutdown() {}

  func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? { nil }

  func withStream<T: Sendable>(
    descriptor: MethodDescriptor,
    options: CallOptions,
    _ closure: (_ stream: RPCStream<Inbound, Outbound>, _ context: ClientContext) async throws -> T
  ) async throws -> T {
    let endpoint = connection.endpoint
    let ready: HTTP2Connection.Ready
    do {
      ready = try await connection.ready().get()
    } catch {
      let failure = (error as? CallFailure)?.error ?? EtcdError(.unreachable, "\(error)", endpoint: endpoint)
      throw RPCError(code: .unavailable, message: failure.description, cause: failure)
    }
    let (inbound, continuation) = AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.makeStream()
    let maxSize = connection.settings.maximumMessageSize
    let channel = try await ready.multiplexer.createStreamChannel { stream in
      stream.eventLoop.makeCompletedFuture {
        try stream.pipeline.syncOperations.addHandler(
          StreamingCallHandler(continuation: continuation, endpoint: endpoint, maximumMessageSize: maxSize))
      }
    }.get()
    continuation.onTermination = { _ in channel.close(promise: nil) }
    defer { channel.close(promise: nil) }
    let writer = StreamWriter(channel: channel, path: "/" + descriptor.fullyQualifiedMethod, endpoint: endpoint)
    let stream = RPCStream(
      descriptor: descriptor,
      inbound: RPCAsyncSequence(wrapping: inbound),
      outbound: RPCWriter.Closable(wrapping: writer)
    )
    let context = ClientContext(descriptor: descriptor, remotePeer: endpoint.description, localPeer: "vigil")
    return try await closure(stream, context)
  }
}

/// Writes request parts onto one HTTP/2 stream.
private struct StreamWriter: ClosableRPCWriterProtocol {
  typealias Element = RPCRequestPart<[UInt8]>
  let channel: any Channel
  let path: String
  let endpoint: EtcdEndpoint

  func write(_ element: Element) async throws {
    let payload: HTTP2Frame.FramePayload
    switch element {
    case .metadata(let metadata):
      var extra: [(String, String)] = []
      for (key, value) in metadata {
        switch value {
        case .string(let s): extra.append((key, s))
        case .binary(let b): extra.append((key, base64(b)))
        }
      }
      let headers = GRPCFraming.requestHeaders(path: path, endpoint: endpoint, timeout: nil, metadata: extra)
      payload = .headers(.init(headers: headers))
    case .message(let bytes):
      payload = .data(.init(data: .byteBuffer(GRPCFraming.frame(bytes, allocator: channel.allocator))))
    }
    try await channel.writeAndFlush(payload).get()
  }

  func write(contentsOf elements: some Sequence<Element>) async throws {
    for element in elements { try await write(element) }
  }

  func finish() async {
    let end = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))
    try? await channel.writeAndFlush(end).get()
  }

  func finish(throwing error: any Error) async {
    try? await channel.close()
  }
}

/// Turns one HTTP/2 stream's frames into gRPC response parts.
final class StreamingCallHandler: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame.FramePayload
  private let continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation
  private let endpoint: EtcdEndpoint
  private var deframer: GRPCMessageDeframer
  private var sawHeaders = false
  private var finished = false

  init(
    continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation, endpoint: EtcdEndpoint,
    maximumMessageSize: Int
  ) {
    self.continuation = continuation
    self.endpoint = endpoint
    self.deframer = GRPCMessageDeframer(maximumMessageSize: maximumMessageSize)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard !finished else { return }
    switch unwrapInboundIn(data) {
    case .headers(let frame):
      if !sawHeaders {
        sawHeaders = true
        if let status = frame.headers.first(name: ":status"), status != "200" {
          end(.unknown, "HTTP status \(status) instead of a gRPC answer")
          return
        }
        if frame.endStream {
          endWithTrailers(frame.headers)
        } else {
          continuation.yield(.metadata(Self.metadata(frame.headers)))
        }
      } else {
        endWithTrailers(frame.headers)
      }
    case .data(let frame):
      if case .byteBuffer(let bytes) = frame.data {
        deframer.append(bytes)
        do {
          while let message = try deframer.next() { continuation.yield(.message(message)) }
        } catch {
          end(.internalError, error.description)
          context.close(promise: nil)
          return
        }
      }
      if frame.endStream { end(.internalError, "stream ended without a gRPC status") }
    case .rstStream(let code):
      end(.unavailable, "etcd \(endpoint) reset the stream (\(code))")
    default:
      break
    }
  }

  private func endWithTrailers(_ trailers: HPACKHeaders) {
    guard let status = GRPCFraming.status(from: trailers) else {
      end(.internalError, "response has no grpc-status")
      return
    }
    let code = Status.Code(rawValue: status.code) ?? .unknown
    finished = true
    continuation.yield(.status(Status(code: code, message: status.message), Self.metadata(trailers)))
    continuation.finish()
  }

  private func end(_ code: Status.Code, _ message: String) {
    guard !finished else { return }
    finished = true
    continuation.yield(.status(Status(code: code, message: message), [:]))
    continuation.finish()
  }

  func channelInactive(context: ChannelHandlerContext) {
    end(.unavailable, "connection to etcd \(endpoint) closed")
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    end(.unavailable, "stream to etcd \(endpoint) failed: \(error)")
    context.close(promise: nil)
  }

  private static func metadata(_ headers: HPACKHeaders) -> Metadata {
    var metadata = Metadata()
    for (name, value, _) in headers where !name.hasPrefix(":") {
      metadata.addString(value, forKey: name)
    }
    return metadata
  }
}

private func base64(_ bytes: [UInt8]) -> String {
  let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  var out: [UInt8] = []
  var i = 0
  while i + 2 < bytes.count {
    let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
    out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
    i += 3
  }
  let rest = bytes.count - i
  if rest == 1 {
    let n = UInt32(bytes[i]) << 16
    out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)]]
  } else if rest == 2 {
    let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
    out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)]]
  }
  return String(decoding: out, as: UTF8.self)
}
