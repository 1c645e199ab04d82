import Foundation

/// A throwaway CA plus server and client certificates made with `openssl`,
/// for TLS tests. The server certificate covers 127.0.0.1 and localhost.
public struct TestCertificates: Sendable {
  public let caFile: String
  public let serverCertificate: String
  public let serverKey: String
  public let clientCertificate: String
  public let clientKey: String

  /// Creates the files under `directory`, with a CA named `caName`.
  public static func make(in directory: String, caName: String = "vigil-test-ca") throws -> TestCertificates {
    func run(_ args: [String]) throws {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
      p.arguments = args
      p.standardOutput = FileHandle.nullDevice
      let errors = Pipe()
      p.standardError = errors
      try p.run()
      p.waitUntilExit()
      if p.terminationStatus != 0 {
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        throw TestCertificateError(message: "openssl \(args.first ?? "") failed: \(text)")
      }
    }
    let d = directory
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    try run([
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(caName)",
      "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.crt",
    ])
    try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n".write(
      toFile: "\(d)/ext.cnf", atomically: true, encoding: .utf8)
    for name in ["server", "client"] {
      try run([
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name == "client" ? "root" : "etcd-server")",
        "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr",
      ])
      try run([
        "x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/ca.crt", "-CAkey", "\(d)/ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "\(d)/ext.cnf", "-out", "\(d)/\(name).crt",
      ])
    }
    return TestCertificates(
      caFile: "\(d)/ca.crt", serverCertificate: "\(d)/server.crt", serverKey: "\(d)/server.key",
      clientCertificate: "\(d)/client.crt", clientKey: "\(d)/client.key")
  }
}

public struct TestCertificateError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
