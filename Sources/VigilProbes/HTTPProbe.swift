import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import VigilCore

/// `http`: GET a URL (e.g. a kube-apiserver's `/readyz`) and check the
/// status, optionally that the body contains a text, and for `https` how
/// long the server's certificate has left. A certificate expiring within
/// `certificateDays` makes the result WARNING (still a success for the
/// detector, and a finding for the inspections).
public struct HTTPProbe: Sendable {
  public let name: String
  public let target: String
  public let url: String
  public let expectStatus: Int
  public let bodyContains: String?
  /// CA file to verify the server with (nil: the system's trust roots).
  public let caFile: String?
  public let certificateDays: Int

  public init(
    name: String, target: String, url: String, expectStatus: Int = 200, bodyContains: String? = nil,
    caFile: String? = nil, certificateDays: Int = 30
  ) {
    self.name = name
    self.target = target
    self.url = url
    self.expectStatus = expectStatus
    self.bodyContains = bodyContains
    self.caFile = caFile
    self.certificateDays = certificateDays
  }

  /// Largest body kept for matching.
  static let bodyLimit = 1 << 20

  public func run(timeout: TimeAmount, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async
    -> ProbeResult
  {
    let clock = ContinuousClock()
    let start = clock.now
    func finish(
      _ status: ProbeStatus, _ failure: ProbeFailureKind?, _ message: String, _ metrics: [String: Double] = [:]
    ) -> ProbeResult {
      let latency = start.duration(to: clock.now)
      return ProbeResult(
        probe: name, target: target, status: status, failure: failure, message: message, latency: latency,
        steps: [ProbeStep(name: "get", latency: latency, succeeded: status == .ok || status == .warning)],
        metrics: metrics)
    }
    guard let parsed = URL(string: url), let host = parsed.host, let scheme = parsed.scheme,
      ["http", "https"].contains(scheme)
    else { return finish(.unknown, .other, "\"\(url)\" is not an http(s) URL") }
    let port = parsed.port ?? (scheme == "https" ? 443 : 80)
    var path = parsed.path.isEmpty ? "/" : parsed.path
    if let query = parsed.query { path += "?" + query }
    do {
      let response = try await HTTPExchange.send(
        host: host, port: port, path: path, tls: scheme == "https", caFile: caFile, timeout: timeout, group: group)
      var metrics: [String: Double] = ["http_status": Double(response.status)]
      var notes: [String] = []
      if let notAfter = response.certificateNotAfter {
        let days = (notAfter - Date().timeIntervalSince1970) / 86_400
        metrics["certificate_expiry_days"] = days
        if days < Double(certificateDays) { notes.append("certificate expires in \(Int(days)) days") }
      }
      guard response.status == expectStatus else {
        return finish(.critical, .badAnswer, "HTTP \(response.status), expected \(expectStatus)", metrics)
      }
      if let bodyContains, !response.body.contains(bodyContains) {
        return finish(.critical, .badAnswer, "HTTP \(response.status) but the body lacks \"\(bodyContains)\"", metrics)
      }
      return finish(
        notes.isEmpty ? .ok : .warning, nil, (["HTTP \(response.status)"] + notes).joined(separator: "; "), metrics)
    } catch let error as HTTPExchange.Failure {
      return finish(.critical, error.kind, error.message)
    } catch {
      let described = HTTP2ConnectErrors.describe(error, host: host, port: port)
      return finish(.critical, described.kind, described.message)
    }
  }
}

/// A one-shot HTTP/1.1 request on its own connection, that also reports the
/// server certificate's expiry for https. The `http` probe and the CLI (which
/// talks to `vigil serve`) use it.
public enum HTTPExchange {
  public struct Response: Sendable {
    public var status: Int
    public var body: String
    /// Seconds since 1970.
    public var certificateNotAfter: Double?
  }

  public struct Failure: Error, CustomStringConvertible {
    public var kind: ProbeFailureKind
    public var message: String
    public var description: String { message }
  }

  /// Sends `method url` with an optional JSON body.
  /// - Throws: ``Failure`` naming the kind of failure (refused, timeout, …).
  public static func send(
    _ method: HTTPMethod, url: String, json body: Data? = nil, timeout: TimeAmount = .seconds(30)
  ) async throws(Failure) -> Response {
    guard let parsed = URL(string: url), let host = parsed.host, let scheme = parsed.scheme,
      ["http", "https"].contains(scheme)
    else { throw Failure(kind: .other, message: "\"\(url)\" is not an http(s) URL") }
    let port = parsed.port ?? (scheme == "https" ? 443 : 80)
    var path = parsed.path.isEmpty ? "/" : parsed.path
    if let query = parsed.query { path += "?" + query }
    do {
      return try await send(
        method: method, host: host, port: port, path: path, body: body, tls: scheme == "https", caFile: nil,
        timeout: timeout, group: MultiThreadedEventLoopGroup.singleton)
    } catch let error as Failure {
      throw error
    } catch {
      let described = HTTP2ConnectErrors.describe(error, host: host, port: port)
      throw Failure(kind: described.kind, message: described.message)
    }
  }

  static func send(
    method: HTTPMethod = .GET, host: String, port: Int, path: String, body: Data? = nil, tls: Bool, caFile: String?,
    timeout: TimeAmount, group: any EventLoopGroup
  ) async throws -> Response {
    let sslContext: NIOSSLContext?
    if tls {
      var config = TLSConfiguration.makeClientConfiguration()
      if let caFile {
        do { config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
          throw Failure(kind: .other, message: "cannot read CA file \(caFile): \(error)")
        }
      }
      sslContext = try NIOSSLContext(configuration: config)
    } else {
      sslContext = nil
    }
    let loop = group.next()
    let promise = loop.makePromise(of: Response.self)
    let serverName = host.first(where: { $0.isLetter }) != nil && !host.contains(":") ? host : nil
    let connecting = ClientBootstrap(group: loop).connectTimeout(timeout)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          if let sslContext {
            let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
            try channel.pipeline.syncOperations.addHandler(handler)
          }
          try channel.pipeline.syncOperations.addHTTPClientHandlers()
          try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, limit: HTTPProbe.bodyLimit))
        }
      }
      .connect(host: host, port: port)
    let channel: any Channel
    do { channel = try await connecting.get() } catch {
      promise.fail(error)
      throw error
    }
    let timer = loop.scheduleTask(in: timeout) {
      promise.fail(Failure(kind: .timeout, message: "no complete answer from \(host):\(port) within \(timeout.nanoseconds / 1_000_000) ms"))
      channel.close(promise: nil)
    }
    var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
    head.headers.add(name: "Host", value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
    head.headers.add(name: "User-Agent", value: "vigil")
    head.headers.add(name: "Connection", value: "close")
    if let body {
      head.headers.add(name: "Content-Type", value: "application/json")
      head.headers.add(name: "Content-Length", value: "\(body.count)")
    } else if method == .POST {
      head.headers.add(name: "Content-Length", value: "0")
    }
    channel.write(HTTPClientRequestPart.head(head), promise: nil)
    if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    defer {
      timer.cancel()
      channel.close(promise: nil)
    }
    do {
      var response = try await promise.futureResult.get()
      if tls {
        let certificate = try await channel.eventLoop.submit {
          try? channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate
        }.get()
        response.certificateNotAfter = certificate.map { Double($0.notValidAfter) }
      }
      return response
    } catch let error as NIOSSLError {
      throw Failure(kind: .security, message: "TLS with \(host):\(port) failed: \(error)")
    } catch let error as BoringSSLError {
      throw Failure(kind: .security, message: "TLS with \(host):\(port) failed: \(error)")
    }
  }

  /// Gathers one response and completes the promise; any error or early close fails it.
  final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<Response>
    let limit: Int
    var status = 0
    var body = ByteBuffer()

    init(promise: EventLoopPromise<Response>, limit: Int) {
      self.promise = promise
      self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      switch unwrapInboundIn(data) {
      case .head(let head):
        status = Int(head.status.code)
      case .body(var chunk):
        if body.readableBytes < limit { body.writeBuffer(&chunk) }
      case .end:
        promise.succeed(Response(status: status, body: String(buffer: body), certificateNotAfter: nil))
      }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
      promise.fail(error)
      context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
      promise.fail(Failure(kind: .interrupted, message: "the connection closed before a complete answer"))
      context.fireChannelInactive()
    }
  }
}
