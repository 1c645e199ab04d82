import Foundation
import VigilRuntime

/// A running S3-compatible server (OpenStack Swift with s3api, from `scripts/s3-server`) and its credentials.
public struct S3TestServer: Sendable {
  /// `http://127.0.0.1:PORT`
  public var endpoint: String
  public var accessKey: String
  public var secretKey: String

  public init(endpoint: String, accessKey: String, secretKey: String) {
    self.endpoint = endpoint
    self.accessKey = accessKey
    self.secretKey = secretKey
  }
}

/// A test kit failure: the S3 server could not be started.
public struct S3TestServerError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// Runs `body` with a fresh single-node S3 server on a loopback port, in a scratch directory that is removed
/// afterwards; the server is stopped also when `body` throws.
///
/// ```swift
/// try await withS3Server { server in
///   let store = try S3BackupStore(options: .init(endpoint: server.endpoint, bucket: "b"), environment: [...])
/// }
/// ```
/// - Throws: when `scripts/s3-server start` fails or does not finish within 240 s (the message carries its
///   output), and whatever `body` throws.
public func withS3Server<T: Sendable>(_ body: (S3TestServer) async throws -> T) async throws -> T {
  let script = s3ServerScript()
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-s3-\(UUID().uuidString.prefix(8))")
    .path
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  func stop() async {
    _ = try? await ChildProcess.run("/bin/bash", [script, "stop", dir], timeout: .seconds(30))
    try? FileManager.default.removeItem(atPath: dir)
  }
  let server: S3TestServer
  do {
    let started = try await ChildProcess.run("/bin/bash", [script, "start", dir], timeout: .seconds(240))
    guard started.status == 0 else {
      let why = started.status == -9 ? "did not finish within 240 s" : "exited with status \(started.status)"
      throw S3TestServerError(description: "\(script) start \(dir) \(why):\n\(started.stdout)\(started.stderr)")
    }
    server = try parseS3ServerOutput(started.stdout)
  } catch {
    await stop()
    throw error
  }
  do {
    let result = try await body(server)
    await stop()
    return result
  } catch {
    await stop()
    throw error
  }
}

/// `scripts/s3-server` of this checkout, found from this source file's path.
func s3ServerScript(filePath: String = #filePath) -> String {
  URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("scripts/s3-server").path
}

/// Reads `S3_ENDPOINT=…`, `S3_ACCESS_KEY=…` and `S3_SECRET_KEY=…` lines.
func parseS3ServerOutput(_ output: String) throws -> S3TestServer {
  var values: [String: String] = [:]
  for line in output.split(whereSeparator: \.isNewline) {
    guard let equals = line.firstIndex(of: "=") else { continue }
    values[String(line[..<equals])] = String(line[line.index(after: equals)...])
  }
  guard let endpoint = values["S3_ENDPOINT"], let accessKey = values["S3_ACCESS_KEY"],
    let secretKey = values["S3_SECRET_KEY"]
  else {
    throw S3TestServerError(
      description: "scripts/s3-server start printed no S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY:\n\(output)")
  }
  return S3TestServer(endpoint: endpoint, accessKey: accessKey, secretKey: secretKey)
}
