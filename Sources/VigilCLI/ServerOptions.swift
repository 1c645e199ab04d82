import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import VigilConfig
import VigilProbes

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

  /// Sends a request to the server and decodes the JSON answer.
  func call<T: Decodable>(
    _ method: HTTPMethod, _ path: String, body: [String: String]? = nil, as type: T.Type, timeout: TimeAmount = .seconds(60)
  ) async throws -> T {
    let base = try baseURL()
    let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
    let response: HTTPExchange.Response
    do { response = try await HTTPExchange.send(method, url: base + path, json: data, timeout: timeout) } catch {
      throw CLIError("no vigil serve answers at \(base): \(error.message) (start one with: vigil serve --config FILE)")
    }
    guard (200..<300).contains(response.status) else {
      let message =
        (try? JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: String])?["error"]
        ?? response.body
      throw CLIError("\(base)\(path): \(message)", exitCode: response.status == 400 || response.status == 404 ? 64 : 1)
    }
    do { return try JSONDecoder().decode(T.self, from: Data(response.body.utf8)) } catch {
      throw CLIError("\(base)\(path): unexpected answer: \(error)")
    }
  }
}
