import ArgumentParser
import Foundation
import VigilConfig
import VigilAPI

/// Where a running `vigil serve` is: `--server URL`, or the `listen` address of `--config FILE`.
struct ServerOptions: ParsableArguments {
  @Option(help: "URL of a running vigil serve (e.g. http://127.0.0.1:9464).")
  var server: String?

  @Option(help: "Configuration file of a running vigil serve (its listen address is used).")
  var config: String?

  var isGiven: Bool { server != nil || config != nil }

  func baseURL() throws -> String {
    if let server {
      guard let url = URL(string: server), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
        throw CLIError("--server: \"\(server)\" is not an http(s) URL (e.g. http://127.0.0.1:9464)", exitCode: 64)
      }
      return server.hasSuffix("/") ? String(server.dropLast()) : server
    }
    guard let config else { return "http://127.0.0.1:9464" }
    let loaded: VigilConfiguration
    do { loaded = try ConfigLoader.load(file: config) } catch {
      throw CLIError("--config: \(error.problems.first.map { "\(config): \($0)" } ?? "\(config): invalid")", exitCode: 64)
    }
    var listen = loaded.listen
    if listen.hasPrefix("0.0.0.0:") { listen = "127.0.0.1:" + listen.dropFirst("0.0.0.0:".count) }
    return "http://\(listen)"
  }

  /// A client for the server's API.
  func client() throws -> APIClient { APIClient(baseURL: try baseURL()) }

  /// Runs one API call; its failure becomes one line for the person at the terminal (exit 64 when the
  /// request itself was wrong).
  func call<T>(_ body: (APIClient) async throws(APIError) -> T) async throws -> T {
    let api = try client()
    do { return try await body(api) } catch {
      switch error.kind {
      case .unreachable:
        throw CLIError("\(error.message) (start one with: vigil serve --config FILE)")
      case .rejected(let status):
        throw CLIError("\(api.baseURL): \(error.message)", exitCode: status == 400 || status == 404 ? 64 : 1)
      case .badAnswer:
        throw CLIError(error.message)
      }
    }
  }
}
