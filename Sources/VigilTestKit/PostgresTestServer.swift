import Foundation
import VigilRuntime

/// A test kit failure: the PostgreSQL server could not be started.
public struct PostgresTestServerError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// Runs `body` with a fresh PostgreSQL server (`scripts/postgres-server`) on a loopback port, given its URL
/// (`postgresql://vigil@127.0.0.1:PORT/vigil`, trust authentication); the server is stopped and its directory
/// removed afterwards, also when `body` throws.
public func withPostgresServer<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
  let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/postgres-server").path
  // Under /tmp: the server (the postgres user, when run as root) must reach the directory.
  let dir = "/tmp/vigil-pg-\(UUID().uuidString.prefix(8))"
  func stop() async {
    _ = try? await ChildProcess.run("/bin/bash", [script, "stop", dir], timeout: .seconds(40))
    try? FileManager.default.removeItem(atPath: dir)
  }
  let url: String
  do {
    let started = try await ChildProcess.run("/bin/bash", [script, "start", dir], timeout: .seconds(120))
    guard started.status == 0,
      let line = started.stdout.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("PG_URL=") })
    else {
      throw PostgresTestServerError(
        description: "\(script) start \(dir) exited with status \(started.status):\n\(started.stdout)\(started.stderr)")
    }
    url = String(line.dropFirst("PG_URL=".count))
  } catch {
    await stop()
    throw error
  }
  do {
    let result = try await body(url)
    await stop()
    return result
  } catch {
    await stop()
    throw error
  }
}
