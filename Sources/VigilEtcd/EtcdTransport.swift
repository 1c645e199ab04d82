import Foundation
import GRPCCore
import NIOConcurrencyHelpers
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
    let (inbound, continuation) = AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.makeStream()
    let writer = StreamWriter(connection: connection, path: "/" + descriptor.fullyQualifiedMethod, continuation: continuation)
    continuation.onTermination = { _ in writer.cancel() }
    let stream = RPCStream(
      descriptor: descriptor,
      inbound: RPCAsyncSequence(wrapping: inbound),
      outbound: RPCWriter.Closable(wrapping: writer)
    )
    let context = ClientContext(descriptor: descriptor, remotePeer: endpoint.description, localPeer: "vigil")
    defer { writer.cancel() }
    return try await closure(stream, context)
  }
}

/// Writes request parts onto one HTTP/2 stream; the stream opens (headers go
/// out) with the first part.
private final class StreamWriter: ClosableRPCWriterProtocol, Sendable {
  typealias Element = RPCRequestPart<[UInt8]>
  let connection: HTTP2Connection
  let path: String
  let continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation
  private let handle = NIOLockedValueBox<StreamingCallHandle?>(nil)
  private let cancelled = NIOLockedValueBox(false)

  init(
    connection: HTTP2Connection, path: String,
    continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation
  ) {
    self.connection = connection
    self.path = path
    self.continuation = continuation
  }

  private func open(_ metadata: Metadata) async throws -> StreamingCallHandle {
    if let existing = handle.withLockedValue({ $0 }) { return existing }
    var extra: [(String, String)] = []
    for (key, value) in metadata {
      switch value {
      case .string(let s): extra.append((key, s))
      case .binary(let b): extra.append((key, Data(b).base64EncodedString()))
      }
    }
    let opened: StreamingCallHandle
    do {
      opened = try await connection.openStream(path: path, metadata: extra, continuation: continuation).get()
    } catch {
      let failure = (error as? CallFailure)?.error ?? (error as? EtcdError)
        ?? EtcdError(.unreachable, "\(error)", endpoint: connection.endpoint)
      continuation.yield(.status(Status(code: .unavailable, message: failure.description), [:]))
      continuation.finish()
      throw RPCError(code: .unavailable, message: failure.description, cause: failure)
    }
    handle.withLockedValue { $0 = opened }
    if cancelled.withLockedValue({ $0 }) { opened.cancel() }
    return opened
  }

  func write(_ element: Element) async throws {
    switch element {
    case .metadata(let metadata):
      _ = try await open(metadata)
    case .message(let bytes):
      let h = try await open([:])
      // A write waiting for flow-control credit from a member that stopped answering ends when the caller
      // is cancelled: the stream is reset, which fails the pending write.
      try await withTaskCancellationHandler {
        try await h.send(bytes).get()
      } onCancel: {
        self.cancel()
      }
    }
  }

  func write(contentsOf elements: some Sequence<Element>) async throws {
    for element in elements { try await write(element) }
  }

  func finish() async {
    guard let h = try? await open([:]) else { return }
    try? await h.finish().get()
  }

  func finish(throwing error: any Error) async {
    cancel()
  }

  func cancel() {
    cancelled.withLockedValue { $0 = true }
    handle.withLockedValue { $0 }?.cancel()
  }
}
