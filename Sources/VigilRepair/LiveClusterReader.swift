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
    let reachable = list.compactMap { m in
      m.clientURLs.first.flatMap { try? EtcdEndpoint(parsing: $0) }.map { (m.id, $0) }
    }
    var statuses: [UInt64: EtcdMemberStatus] = [:]
    let answers = await client.statuses(of: reachable.map(\.1), timeout: timeout)
    for ((id, _), answer) in zip(reachable, answers) { statuses[id] = try? answer.get() }
    let members = list.map { m in
      let s = statuses[m.id]
      return LiveMember(
        id: m.id, name: m.name.isEmpty ? String(m.id, radix: 16) : m.name, isLearner: m.isLearner,
        healthy: s.map { $0.leader != 0 } ?? false, isLeader: s?.isLeader ?? false, appliedIndex: s?.raftAppliedIndex)
    }
    return Reading(cluster: LiveCluster(members: members), listed: list, statuses: statuses)
  }
}
