import AsyncHTTPClient
import Foundation
import NIOCore
import VigilAPI
import VigilRuntime
import VigilTestKit

/// A real server the tests start on loopback (Prometheus, Alertmanager): its process, stopped afterwards
/// whatever happens, and its log kept for the failure message.
struct ExternalServer {
  let url: String
  let log: String

  /// Starts `program arguments` (its output to `dir/NAME.log`), waits until `GET url + ready` answers 200,
  /// runs `body`, and stops it.
  static func with<T>(
    _ name: String, program: String, arguments: [String], url: String, ready: String, dir: String,
    _ body: (ExternalServer) async throws -> T
  ) async throws -> T {
    guard FileManager.default.isExecutableFile(atPath: program) else {
      throw TestTimeout("\(program) is missing (scripts/bootstrap installs it)")
    }
    let log = "\(dir)/\(name).log"
    FileManager.default.createFile(atPath: log, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    func stop() async {
      if process.isRunning { process.terminate() }
      for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      try? handle.close()
    }
    let server = ExternalServer(url: url, log: log)
    do {
      let up = try await eventually(timeout: .seconds(60)) {
        guard process.isRunning else { return false }
        return (try? await server.get(ready).status) == 200
      }
      guard up else { throw TestTimeout("\(name) did not get ready within 60 s: \(server.tail())") }
      let result = try await body(server)
      await stop()
      return result
    } catch {
      await stop()
      throw error
    }
  }

  func get(_ path: String) async throws -> (status: Int, body: String) {
    var request = HTTPClientRequest(url: url + path)
    request.headers.add(name: "Connection", value: "close")
    let response = try await APIClient.http.execute(request, timeout: .seconds(10))
    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 16 << 20)))
  }

  /// The end of its log.
  func tail() -> String {
    String((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(2000) ?? "")
  }
}

/// This checkout's root, from this source file's path.
func repositoryRoot(filePath: String = #filePath) -> String {
  URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}
