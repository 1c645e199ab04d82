import Foundation
import VigilRuntime

/// A throwaway CA plus server and client certificates made with `openssl`,
/// for TLS tests. The server certificate covers 127.0.0.1 and localhost.
public struct TestCertificates: Sendable {
  public let caFile: String
  public let serverCertificate: String
  public let serverKey: String
  public let clientCertificate: String
  public let clientKey: String

  /// Creates the files under `directory`, with a CA named `caName`.
  public static func make(in directory: String, caName: String = "vigil-test-ca") async throws -> TestCertificates {
    let d = directory
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    try await openssl([
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(caName)",
      "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.crt",
    ])
    try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n".write(
      toFile: "\(d)/ext.cnf", atomically: true, encoding: .utf8)
    let made = TestCertificates(
      caFile: "\(d)/ca.crt", serverCertificate: "\(d)/server.crt", serverKey: "\(d)/server.key",
      clientCertificate: "\(d)/client.crt", clientKey: "\(d)/client.key")
    try await made.issue(name: "etcd-server", days: 2, certificate: made.serverCertificate, key: made.serverKey)
    try await made.issue(name: "root", days: 2, certificate: made.clientCertificate, key: made.clientKey)
    return made
  }

  static func openssl(_ args: [String]) async throws {
    let result = try await ChildProcess.run("/usr/bin/openssl", args)
    if result.status != 0 {
      throw TestCertificateError(message: "openssl \(args.first ?? "") failed: \(result.stderr)")
    }
  }
}

extension TestCertificates {
  /// A certificate and key for `name` signed by this CA, valid `days` days from now (for 127.0.0.1 and localhost,
  /// server and client use), written to `certificate` and `key`.
  public func issue(name: String, days: Int, certificate: String, key: String) async throws {
    let d = (caFile as NSString).deletingLastPathComponent
    let csr = certificate + ".csr"
    for args in [
      ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name)", "-keyout", key, "-out", csr],
      [
        "x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", "\(d)/ca.key", "-CAcreateserial", "-days", String(days),
        "-extfile", "\(d)/ext.cnf", "-out", certificate,
      ],
    ] {
      try await Self.openssl(args)
    }
    try? FileManager.default.removeItem(atPath: csr)
  }

  /// These certificates as a local cluster's server TLS (client certificates required).
  public var serverTLS: LocalClusterTLS {
    LocalClusterTLS(caFile: caFile, certificateFile: serverCertificate, keyFile: serverKey)
  }
}

public struct TestCertificateError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
