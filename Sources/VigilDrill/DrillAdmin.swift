import NIOCore
import VigilEtcd

/// The drill's own clients: one per member endpoint (made as members come and go) and one for the cluster.
actor DrillAdmin {
  private var pinned: [String: EtcdClient] = [:]
  let whole: EtcdClient

  init(endpoints: [EtcdEndpoint]) throws {
    whole = try EtcdClient(configuration: Self.config(endpoints: endpoints))
  }

  static func config(endpoints: [EtcdEndpoint], timeout: TimeAmount = .seconds(2)) -> EtcdClientConfiguration {
    var c = EtcdClientConfiguration(endpoints: endpoints)
    c.callTimeout = timeout
    return c
  }

  func client(_ endpoint: EtcdEndpoint) throws -> EtcdClient {
    if let c = pinned[endpoint.description] { return c }
    let c = try EtcdClient(configuration: Self.config(endpoints: [endpoint], timeout: .milliseconds(500)))
    pinned[endpoint.description] = c
    return c
  }

  func shutdown() async {
    for c in pinned.values { await c.shutdown() }
    pinned = [:]
    await whole.shutdown()
  }
}
