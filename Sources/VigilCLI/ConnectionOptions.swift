import ArgumentParser
import Foundation
import NIOCore
import VigilEtcd

/// Flags every command that talks to etcd shares.
struct ConnectionOptions: ParsableArguments {
  @Option(help: "Comma-separated etcd client URLs (http(s)://host:port).")
  var endpoints: String = "http://127.0.0.1:2379"

  @Option(help: "CA certificate file (PEM) to verify etcd's server certificate.")
  var cacert: String?

  @Option(help: "Client certificate file (PEM).")
  var cert: String?

  @Option(help: "Client key file (PEM).")
  var key: String?

  @Option(help: "User name for etcd auth (the password comes from --password or VIGIL_ETCD_PASSWORD).")
  var user: String?

  @Option(help: "Password for --user.")
  var password: String?

  @Option(help: "Timeout per call, in seconds.")
  var timeout: Double = 3

  func validate() throws {
    do { _ = try EtcdEndpoint.parseList(endpoints) } catch {
      throw ValidationError("--endpoints: \(error.message)")
    }
    if (cert == nil) != (key == nil) {
      throw ValidationError("--cert and --key go together (got only \(cert == nil ? "--key" : "--cert"))")
    }
    if (cert != nil || key != nil) && cacert == nil {
      throw ValidationError("--cert/--key need --cacert to verify the server")
    }
    guard timeout > 0, timeout <= 3600 else {
      throw ValidationError("--timeout \(timeout) is out of range (expected seconds between 0 and 3600)")
    }
  }

  func clientConfiguration() throws -> EtcdClientConfiguration {
    let list: [EtcdEndpoint]
    do { list = try EtcdEndpoint.parseList(endpoints) } catch { throw CLIError(error.message, exitCode: 64) }
    var config = EtcdClientConfiguration(endpoints: list)
    if let cacert {
      config.tls = EtcdTLSConfiguration(caFile: cacert, certificateFile: cert, keyFile: key)
    }
    if let user {
      let secret = password ?? ProcessInfo.processInfo.environment["VIGIL_ETCD_PASSWORD"] ?? ""
      config.credentials = EtcdCredentials(username: user, password: secret)
    }
    config.callTimeout = .milliseconds(Int64(timeout * 1000))
    config.connection.connectTimeout = config.callTimeout
    return config
  }

  func makeClient() throws -> EtcdClient {
    do { return try EtcdClient(configuration: try clientConfiguration()) } catch let error as EtcdError {
      throw CLIError(error.description)
    }
  }
}
