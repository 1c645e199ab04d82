import Foundation
import Hummingbird
import VigilAPI
import VigilCore
import VigilMonitor
import VigilRepair

extension HTTPAPI {
  /// Endpoint publishing: where each cluster's clients should connect, and Prometheus service discovery.
  static func addSiteRoutes(_ router: Router<VigilRequestContext>, monitor: Monitor, repairs: RepairCoordinator) {
    router.get("/v1/clusters/:name/endpoints") { _, context in
      let name = pathParameter(context, "name")
      let all = await published(monitor: monitor, repairs: repairs)
      guard let entry = EndpointDirectory.entry(name, in: all) else {
        return problem(.notFound, "no cluster named \"\(name)\" (clusters: \(all.map(\.cluster).joined(separator: ", ")))")
      }
      return try json(entry)
    }
    router.get("/v1/sd/etcd") { _, _ in
      try json(EndpointDirectory.serviceDiscovery(await published(monitor: monitor, repairs: repairs)))
    }
  }

  /// Every cluster's published endpoints, now.
  public static func published(monitor: Monitor, repairs: RepairCoordinator) async -> [PublishedEndpoints] {
    await monitor.published(pairs: await repairs.pairs())
  }
}
