import NIOCore
import NIOHPACK

/// gRPC's wire framing over HTTP/2: request headers, the 5-byte length
/// prefix on each message, and the status carried in trailers.
enum GRPCFraming {
  /// Writes one message with its length prefix (uncompressed).
  static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
    var buffer = allocator.buffer(capacity: message.count + 5)
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt32(message.count))
    buffer.writeBytes(message)
    return buffer
  }

  /// Request headers for a call. `timeout` becomes `grpc-timeout` so etcd can
  /// give up on its side too.
  static func requestHeaders(
    path: String, endpoint: EtcdEndpoint, timeout: TimeAmount?, metadata: [(String, String)]
  ) -> HPACKHeaders {
    var headers = HPACKHeaders()
    headers.reserveCapacity(8 + metadata.count)
    headers.add(name: ":method", value: "POST")
    headers.add(name: ":scheme", value: endpoint.scheme.rawValue)
    headers.add(name: ":path", value: path)
    headers.add(name: ":authority", value: endpoint.authority)
    headers.add(name: "content-type", value: "application/grpc")
    headers.add(name: "te", value: "trailers")
    if let timeout {
      // grpc-timeout allows at most 8 digits; milliseconds cover 27 hours.
      let ms = max(1, min(timeout.nanoseconds / 1_000_000, 99_999_999))
      headers.add(name: "grpc-timeout", value: "\(ms)m")
    }
    for (name, value) in metadata { headers.add(name: name, value: value) }
    return headers
  }

  /// The status a response ended with, from trailers (or a trailers-only response).
  static func status(from trailers: HPACKHeaders) -> (code: Int, message: String)? {
    guard let raw = trailers.first(name: "grpc-status"), let code = Int(raw) else { return nil }
    let message = trailers.first(name: "grpc-message").map(percentDecode) ?? ""
    return (code, message)
  }

  /// grpc-message is percent-encoded.
  static func percentDecode(_ text: String) -> String {
    guard text.contains("%") else { return text }
    var bytes: [UInt8] = []
    var utf8 = Array(text.utf8)[...]
    while let b = utf8.first {
      utf8 = utf8.dropFirst()
      if b == UInt8(ascii: "%"), utf8.count >= 2,
        let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
      {
        bytes.append(v)
        utf8 = utf8.dropFirst(2)
      } else {
        bytes.append(b)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

/// Splits a stream of DATA bytes into length-prefixed gRPC messages.
struct GRPCMessageDeframer {
  private var buffer: ByteBuffer?
  /// Messages larger than this are refused (etcd's own default limit is 2 MiB
  /// per request; snapshots come in 32 KiB chunks).
  let maximumMessageSize: Int

  init(maximumMessageSize: Int = 64 << 20) {
    self.maximumMessageSize = maximumMessageSize
  }

  mutating func append(_ bytes: ByteBuffer) {
    if buffer == nil {
      buffer = bytes
    } else {
      var b = bytes
      buffer!.writeBuffer(&b)
    }
  }

  /// The next whole message, if one has arrived.
  mutating func next() throws(EtcdError) -> [UInt8]? {
    guard var buf = buffer, buf.readableBytes >= 5 else { return nil }
    guard let flag: UInt8 = buf.getInteger(at: buf.readerIndex),
      let length: UInt32 = buf.getInteger(at: buf.readerIndex + 1)
    else { return nil }
    guard flag == 0 else {
      throw EtcdError(.protocolError, "response message is compressed (flag \(flag)), which Vigil never asked for")
    }
    guard Int(length) <= maximumMessageSize else {
      throw EtcdError(.protocolError, "response message of \(length) bytes exceeds the \(maximumMessageSize)-byte limit")
    }
    guard buf.readableBytes >= 5 + Int(length) else { return nil }
    buf.moveReaderIndex(forwardBy: 5)
    let message = buf.readBytes(length: Int(length))!
    if buf.readableBytes == 0 {
      buffer = nil
    } else {
      buffer = buf
    }
    return message
  }
}
