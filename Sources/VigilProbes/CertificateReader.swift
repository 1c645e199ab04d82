import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import VigilCore

/// Reads when certificates expire: from PEM files (Vigil's client
/// certificate, a CA) and from live TLS endpoints (etcd's server and peer
/// ports), for the certificate inspection.
public enum CertificateReader {
  /// Every certificate in a PEM file.
  public static func file(_ path: String, role: String) throws -> [CertificateExpiry] {
    try NIOSSLCertificate.fromPEMFile(path).map {
      CertificateExpiry(role: role, source: path, subject: subject(of: $0), notAfter: Double($0.notValidAfter))
    }
  }

  /// The leaf certificate a TLS server at `host:port` presents. The chain is
  /// read during the handshake and not judged (this is about expiry, not
  /// trust), so it works on peer ports that also demand a client certificate.
  public static func remote(
    host: String, port: Int, role: String, timeout: TimeAmount = .seconds(2),
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
  ) async throws -> CertificateExpiry {
    var config = TLSConfiguration.makeClientConfiguration()
    config.certificateVerification = .noHostnameVerification
    let context = try NIOSSLContext(configuration: config)
    let seen = NIOLockedValueBox<NIOSSLCertificate?>(nil)
    let loop = group.next()
    let handshake = loop.makePromise(of: Void.self)
    let connecting = ClientBootstrap(group: loop).connectTimeout(timeout)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let handler = try NIOSSLClientHandler(context: context, serverHostname: nil) { chain, verdict in
            seen.withLockedValue { $0 = chain.first }
            verdict.succeed(.certificateVerified)
          }
          try channel.pipeline.syncOperations.addHandler(handler)
          try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
        }
      }
      .connect(host: host, port: port)
    let channel: any Channel
    do { channel = try await connecting.get() } catch {
      handshake.fail(error)
      throw error
    }
    let timer = loop.scheduleTask(in: timeout) { handshake.fail(ChannelError.connectTimeout(timeout)) }
    _ = try? await handshake.futureResult.get()
    timer.cancel()
    try? await channel.close()
    guard let leaf = seen.withLockedValue({ $0 }) else {
      throw CertificateReadError(message: "\(host):\(port) presented no certificate")
    }
    return CertificateExpiry(
      role: role, source: "\(host):\(port)", subject: subject(of: leaf), notAfter: Double(leaf.notValidAfter))
  }

  /// The subject's common name or first DNS/IP alternative name, for display.
  static func subject(of certificate: NIOSSLCertificate) -> String {
    for name in certificate._subjectAlternativeNames() {
      switch name.nameType {
      case .dnsName: return String(decoding: name.contents, as: UTF8.self)
      default: continue
      }
    }
    let serial = certificate.serialNumber.prefix(8).map { String($0, radix: 16) }.joined()
    return "serial \(serial)"
  }

  final class HandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Void>
    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
      if let e = event as? TLSUserEvent, case .handshakeCompleted = e { promise.succeed(()) }
      context.fireUserInboundEventTriggered(event)
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
      promise.fail(error)
      context.close(promise: nil)
    }
    func channelInactive(context: ChannelHandlerContext) {
      promise.fail(ChannelError.ioOnClosedChannel)
      context.fireChannelInactive()
    }
  }
}

public struct CertificateReadError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
