import Foundation
import VigilCore

/// Where a cluster's clients should connect: the healthy members of the side that serves it.
public struct PublishedEndpoints: Sendable, Hashable, Codable {
  /// The name clients know (a pair's primary name, or a cluster without a standby).
  public var cluster: String
  /// The cluster serving it now.
  public var active: String
  /// The other side of its pair, if it has one.
  public var standby: String?
  /// Client URLs of the active side's healthy members, in member order.
  public var endpoints: [String]
  /// When the active side last changed (0: as configured).
  public var changedAt: Double

  public init(cluster: String, active: String, standby: String?, endpoints: [String], changedAt: Double) {
    self.cluster = cluster
    self.active = active
    self.standby = standby
    self.endpoints = endpoints
    self.changedAt = changedAt
  }
}

/// One Prometheus HTTP service-discovery target group (`[{"targets": [...], "labels": {...}}]`).
public struct ServiceDiscoveryGroup: Sendable, Hashable, Codable {
  public var targets: [String]
  public var labels: [String: String]

  public init(targets: [String], labels: [String: String]) {
    self.targets = targets
    self.labels = labels
  }
}

/// What Vigil publishes for clients to follow, computed from the monitor's status and the pairs' active sides.
public enum EndpointDirectory {
  /// Every cluster clients know: each pair once (under its primary's name) and every cluster in no pair.
  public static func published(status: MonitorStatus, pairs: [ActiveSide], standbys: [String: String])
    -> [PublishedEndpoints]
  {
    let byName = Dictionary(status.clusters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let paired = Set(standbys.keys).union(standbys.values)
    var out: [PublishedEndpoints] = []
    for cluster in status.clusters.map(\.name).sorted() where !paired.contains(cluster) || standbys[cluster] != nil {
      let side = pairs.first { $0.cluster == cluster }
      let active = side?.active ?? cluster
      out.append(
        PublishedEndpoints(
          cluster: cluster, active: active, standby: standbys[cluster].map { active == cluster ? $0 : cluster },
          endpoints: healthy(byName[active]), changedAt: side?.changedAt ?? 0))
    }
    return out
  }

  /// The published entry for `name` (a pair's primary or standby name, or a lone cluster), if any.
  public static func entry(_ name: String, in published: [PublishedEndpoints]) -> PublishedEndpoints? {
    published.first { $0.cluster == name || $0.active == name || $0.standby == name }
  }

  /// Prometheus HTTP service discovery: each published cluster's serving members, as `host:port`.
  public static func serviceDiscovery(_ published: [PublishedEndpoints]) -> [ServiceDiscoveryGroup] {
    published.map { p in
      ServiceDiscoveryGroup(
        targets: p.endpoints.compactMap { URL(string: $0).flatMap { u in u.host.map { "\($0):\(u.port ?? 2379)" } } },
        labels: ["cluster": p.cluster, "etcd_cluster": p.active, "role": "active"])
    }
  }

  static func healthy(_ cluster: MonitorStatus.ClusterStatus?) -> [String] {
    (cluster?.members ?? []).filter { !$0.learner && $0.health == .healthy }.compactMap(\.endpoint)
  }
}
