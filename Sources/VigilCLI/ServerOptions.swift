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

  @Option(help: "Bearer token for the API (default: $VIGIL_TOKEN; make one with vigil token create).")
  var token: String?

  @Option(help: "CA certificate (PEM) that signed vigil serve's certificate, for https with a private CA.")
  var apiCacert: String?

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
    return "\(loaded.api.tls == nil ? "http" : "https")://\(listen)"
  }

  /// A client for the server's API.
  func client() throws -> APIClient {
    let token = self.token ?? ProcessInfo.processInfo.environment["VIGIL_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    guard let cacert = apiCacert else { return APIClient(baseURL: try baseURL(), token: token) }
    guard FileManager.default.isReadableFile(atPath: cacert) else {
      throw CLIError("--api-cacert: \"\(cacert)\" is not a readable file (expected a PEM certificate)", exitCode: 64)
    }
    do { return APIClient(baseURL: try baseURL(), token: token, http: try APIClient.http(trusting: cacert)) } catch let e as CLIError {
      throw e
    } catch {
      throw CLIError("--api-cacert: \(cacert): \(error)", exitCode: 64)
    }
  }

  /// Runs one API call; its failure becomes one line for the person at the terminal (exit 64 when the
  /// request itself was wrong).
  func call<T>(_ body: (APIClient) async throws(APIError) -> T) async throws -> T {
    let api = try client()
    do { return try await body(api) } catch {
      switch error.kind {
      case .unreachable:
        throw CLIError("\(error.message) (start one with: vigil serve --config FILE)")
      case .rejected(let status) where status == 401:
        throw CLIError("\(api.baseURL): \(error.message) (give --token or set VIGIL_TOKEN)", exitCode: 77)
      case .rejected(let status) where status == 403:
        throw CLIError("\(api.baseURL): \(error.message)", exitCode: 77)
      case .rejected(let status):
        throw CLIError("\(api.baseURL): \(error.message)", exitCode: status == 400 || status == 404 ? 64 : 1)
      case .badAnswer:
        throw CLIError(error.message)
      }
    }
  }
}
