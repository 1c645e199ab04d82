import Foundation
import VigilEtcd
import VigilProxy

/// How each of Vigil's replicas in a drill reaches the management etcd: through a proxy of its own, which the
/// drill cuts (every connection closed, new ones refused) and heals.
final class ReplicaLinks: Sendable {
  let management: TCPProxy.Backend
  let proxies: [String: TCPProxy]

  private init(management: TCPProxy.Backend, proxies: [String: TCPProxy]) {
    self.management = management
    self.proxies = proxies
  }

  /// A started proxy per replica name, each to `management`.
  static func start(_ names: [String], management: EtcdEndpoint) async throws -> ReplicaLinks {
    let backend = TCPProxy.Backend(host: management.host, port: management.port)
    var proxies: [String: TCPProxy] = [:]
    for name in names {
      let proxy = TCPProxy()
      do { try await proxy.start(host: "127.0.0.1", port: 0) } catch {
        for p in proxies.values { await p.stop() }
        throw DrillError("cannot start the proxy to the management etcd: \(error)")
      }
      proxy.update(backends: [backend])
      proxies[name] = proxy
    }
    return ReplicaLinks(management: backend, proxies: proxies)
  }

  /// The endpoint replica `name` reaches the management etcd at.
  func endpoint(_ name: String) throws -> EtcdEndpoint {
    guard let port = proxies[name]?.localAddress?.port else { throw DrillError("no proxy for replica \(name)") }
    return EtcdEndpoint(host: "127.0.0.1", port: port)
  }

  func cut(_ name: String) { proxies[name]?.update(backends: []) }
  func heal(_ name: String) { proxies[name]?.update(backends: [management]) }

  func stop() async {
    for p in proxies.values { await p.stop() }
  }
}
