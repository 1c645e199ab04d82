import Foundation
import VigilRuntime

/// Runs `body` with a fresh PostgreSQL server (``ScratchPostgres``) on a loopback port, given its URL
/// (`postgresql://vigil@127.0.0.1:PORT/vigil`, trust authentication); the server is stopped and its directory
/// removed afterwards, also when `body` throws.
public func withPostgresServer<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
  // Under /tmp: the server (the postgres user, when run as root) must reach the directory.
  let dir = "/tmp/vigil-pg-\(UUID().uuidString.prefix(8))"
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let server = try await ScratchPostgres.start(in: dir)
  do {
    let result = try await body(server.url)
    await server.stop()
    return result
  } catch {
    await server.stop()
    throw error
  }
}
