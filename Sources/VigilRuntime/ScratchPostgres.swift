import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A throwaway PostgreSQL server (Debian's `postgresql` package) on a loopback port, its data and socket in a
/// directory of its own: for the tests of the shared store and the drills of Vigil's replicas. Trust
/// authentication, user and database `vigil`, durability off (it lives for one test or drill). As root it
/// runs as the `postgres` user, which `initdb` requires.
public struct ScratchPostgres: Sendable {
  /// `postgresql://vigil@127.0.0.1:PORT/vigil`
  public let url: String
  public let directory: String
  let bin: String
  let asPostgres: [String]

  /// Starts one in `directory` (created; it must be reachable by the `postgres` user when run as root).
  /// - Throws: ``LocalClusterError`` naming what failed, with the tool's output.
  public static func start(in directory: String) async throws -> ScratchPostgres {
    guard let bin = installedBin() else {
      throw LocalClusterError("no PostgreSQL in /usr/lib/postgresql/*/bin: install Debian's postgresql (scripts/bootstrap)")
    }
    let root = geteuid() == 0
    let asPostgres = root ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    if root { _ = try await ChildProcess.run("/bin/chown", ["postgres", directory], timeout: .seconds(10)) }
    let port = try FreePort.pick(count: 1)[0]
    let server = ScratchPostgres(
      url: "postgresql://vigil@127.0.0.1:\(port)/vigil", directory: directory, bin: bin, asPostgres: asPostgres)
    try await server.step(
      "initdb", ["-D", directory + "/data", "-U", "vigil", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
    try await server.step(
      "pg_ctl",
      [
        "-D", directory + "/data", "-l", directory + "/postgres.log", "-w", "-t", "60", "-s", "-o",
        "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        "start",
      ])
    do { try await server.step("createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "vigil", "vigil"]) } catch {
      await server.stop()
      throw error
    }
    return server
  }

  /// Stops it at once (immediate shutdown); the caller removes the directory.
  public func stop() async {
    let (program, argv) = command("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "-t", "30", "-s", "stop"])
    _ = try? await ChildProcess.run(program, argv, timeout: .seconds(40))
  }

  /// One of PostgreSQL's tools, as the postgres user when run as root.
  func command(_ tool: String, _ arguments: [String]) -> (String, [String]) {
    guard let runuser = asPostgres.first else { return (bin + "/" + tool, arguments) }
    return (runuser, Array(asPostgres.dropFirst()) + [bin + "/" + tool] + arguments)
  }

  func step(_ tool: String, _ arguments: [String]) async throws {
    let (program, argv) = command(tool, arguments)
    let result = try await ChildProcess.run(program, argv, timeout: .seconds(120))
    guard result.status == 0 else {
      let log = (try? String(contentsOfFile: directory + "/postgres.log", encoding: .utf8)) ?? ""
      throw LocalClusterError(
        "PostgreSQL's \(tool) failed (status \(result.status)): \(result.stdout)\(result.stderr)\(log.suffix(2000))")
    }
  }

  /// The newest `/usr/lib/postgresql/N/bin`.
  static func installedBin() -> String? {
    let base = "/usr/lib/postgresql"
    let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).sorted()
    return versions.last.map { "\(base)/\($0)/bin" }
  }
}
