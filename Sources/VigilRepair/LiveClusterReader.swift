import NIOCore
import VigilCore
import VigilEtcd

/// Reads a cluster's real state right before a step: the member list, then
/// every member's own status (in parallel, each with a short deadline).
enum LiveClusterReader {
  struct Reading: Sendable {
    var cluster: LiveCluster
    var listed: [EtcdMember]
    var statuses: [UInt64: EtcdMemberStatus]
  }

  static func read(_ client: EtcdClient, timeout: TimeAmount = .milliseconds(700)) async throws -> Reading {
    let list = try await client.withCallTimeout(.seconds(2)).cluster.list()
    var statuses: [UInt64: EtcdMemberStatus] = [:]
    await withTaskGroup(of: (UInt64, EtcdMemberStatus?).self) { group in
      for m in list {
        guard let url = m.clientURLs.first, let endpoint = try? EtcdEndpoint(parsing: url) else { continue }
        group.addTask {
          let pinned = client.member(endpoint)
          let status = try? await pinned.withCallTimeout(timeout).maintenance.status()
          await pinned.shutdown()  // closes only a connection it opened itself
          return (m.id, status)
        }
      }
      for await (id, status) in group { statuses[id] = status }
    }
    let members = list.map { m in
      let s = statuses[m.id]
      return LiveMember(
        id: m.id, name: m.name.isEmpty ? String(m.id, radix: 16) : m.name, isLearner: m.isLearner,
        healthy: s.map { $0.leader != 0 } ?? false, isLeader: s?.isLeader ?? false, appliedIndex: s?.raftAppliedIndex)
    }
    return Reading(cluster: LiveCluster(members: members), listed: list, statuses: statuses)
  }
}
