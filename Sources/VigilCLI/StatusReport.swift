import Foundation
import VigilEtcd

/// One row of `vigil status`: what one member said about itself, or why it could not.
public struct MemberStatusRow: Sendable, Hashable {
  public var endpoint: EtcdEndpoint
  public var name: String?
  public var status: EtcdMemberStatus?
  public var alarms: [EtcdAlarm.Kind] = []
  public var error: String?

  public init(
    endpoint: EtcdEndpoint, name: String? = nil, status: EtcdMemberStatus? = nil, alarms: [EtcdAlarm.Kind] = [],
    error: String? = nil
  ) {
    self.endpoint = endpoint
    self.name = name
    self.status = status
    self.alarms = alarms
    self.error = error
  }
}

/// Collects and renders the per-member status table.
public enum StatusReport {
  /// Asks every configured endpoint for its status (in parallel), and the
  /// cluster for its member list and alarms.
  public static func gather(client: EtcdClient) async -> [MemberStatusRow] {
    let members = (try? await client.cluster.list()) ?? []
    let alarms = (try? await client.maintenance.alarms()) ?? []
    let endpoints = client.configuration.endpoints
    let statuses = await client.statuses(of: endpoints, timeout: client.configuration.callTimeout)
    return zip(endpoints, statuses).map { endpoint, result in
      var row = MemberStatusRow(endpoint: endpoint)
      switch result {
      case .success(let status):
        row.status = status
        row.name = members.first { $0.id == status.memberID }?.name
        row.alarms = alarms.filter { $0.memberID == status.memberID }.map(\.kind)
      case .failure(let error):
        row.error = error.code == .unreachable || error.code == .timedOut ? error.message : error.description
        row.name = members.first { $0.clientURLs.contains(endpoint.description) }?.name
      }
      return row
    }
  }

  /// The table `vigil status` prints.
  public static func render(_ rows: [MemberStatusRow]) -> String {
    var table = Table([
      "NAME", "ID", "ENDPOINT", "LEADER", "LEARNER", "TERM", "INDEX", "DB", "IN USE", "ALARMS", "VERSION", "STATE",
    ])
    for row in rows {
      if let s = row.status {
        table.add([
          row.name ?? "?", String(s.memberID, radix: 16), row.endpoint.description, s.isLeader ? "yes" : "no",
          s.isLearner ? "yes" : "no", String(s.raftTerm), String(s.raftIndex), bytes(s.dbSize), bytes(s.dbSizeInUse),
          row.alarms.isEmpty ? "-" : row.alarms.map(\.rawValue).joined(separator: ","), s.version,
          s.leader == 0 ? "no leader" : "ok",
        ])
      } else {
        table.add([
          row.name ?? "?", "-", row.endpoint.description, "-", "-", "-", "-", "-", "-", "-", "-",
          "unreachable: \(row.error ?? "unknown error")",
        ])
      }
    }
    return table.render()
  }

  /// Human-readable byte count (binary units, as etcdctl prints them).
  public static func bytes(_ n: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
  }
}
