import Foundation
import NIOCore
import VigilConfig
import VigilCore
import VigilEtcd
import VigilProbes

/// Gathers what the directed inspections judge: each member's status, alarms,
/// KV hash at a common revision, and every certificate Vigil can see.
enum InspectionRunner {
  static func snapshot(
    cluster: GuardedCluster, members: [ListedMember], memberClient: (ListedMember) -> EtcdClient?,
    learnerFor: [UInt64: Duration], leaderChanges: Int, now: Double, timeout: TimeAmount,
    backupAge: Duration? = nil, backupMaxAge: Duration? = nil
  ) async -> ClusterSnapshot {
    let alarms = (try? await cluster.client.withCallTimeout(timeout).maintenance.alarms()) ?? []
    // Status of every started member, in parallel.
    var snapshots: [MemberSnapshot] = []
    var statuses: [UInt64: EtcdMemberStatus] = [:]
    let started = members.filter { $0.endpoint != nil }
    let answers = await cluster.client.statuses(of: started.compactMap(\.endpoint), timeout: timeout)
    var results: [UInt64: Result<EtcdMemberStatus, EtcdError>] = [:]
    for (m, answer) in zip(started, answers) { results[m.id] = answer }
    for m in members {
      let result = results[m.id]
      var s = MemberSnapshot(
        name: m.name, id: m.id, endpoint: m.endpoint?.description ?? "-", isLearner: m.isLearner,
        alarms: alarms.filter { $0.memberID == m.id }.map(\.kind.rawValue), learnerFor: learnerFor[m.id])
      switch result {
      case .success(let st)?:
        statuses[m.id] = st
        s.status = MemberSnapshot.Status(
          version: st.version, dbSize: st.dbSize, dbSizeInUse: st.dbSizeInUse, leader: st.leader,
          raftIndex: st.raftIndex, raftAppliedIndex: st.raftAppliedIndex, raftTerm: st.raftTerm)
      case .failure(let e)?:
        s.error = e.description
      case nil:
        s.error = "not started (no client URL)"
      }
      snapshots.append(s)
    }
    // KV hashes at the lowest revision every answering member has reached.
    if let revision = statuses.values.map(\.revision).min(), revision > 0 {
      await withTaskGroup(of: (UInt64, EtcdHashKV?).self) { group in
        for m in members where statuses[m.id] != nil {
          let client = memberClient(m)?.withCallTimeout(timeout)
          group.addTask { (m.id, try? await client?.maintenance.hashKV(revision: revision)) }
        }
        for await (id, hash) in group {
          guard let hash, let i = snapshots.firstIndex(where: { $0.id == id }) else { continue }
          snapshots[i].hash = hash.hash
          snapshots[i].hashRevision = revision
          snapshots[i].hashCompactRevision = hash.compactRevision
        }
      }
    }
    snapshots.sort { $0.name < $1.name }
    return ClusterSnapshot(
      cluster: cluster.name, declaredMembers: cluster.config.declaredMembers, members: snapshots,
      quotaBytes: cluster.quotaBytes, leaderChangesLastHour: leaderChanges,
      certificates: await certificates(cluster: cluster, members: members),
      now: now, backupAge: backupAge, backupMaxAge: backupMaxAge)
  }

  /// Vigil's own client certificate and CA from files; each https client and peer endpoint's server certificate.
  static func certificates(cluster: GuardedCluster, members: [ListedMember]) async -> [CertificateExpiry] {
    var out: [CertificateExpiry] = []
    if let tls = cluster.config.tls {
      out += (try? CertificateReader.file(tls.ca, role: "CA")) ?? []
      if let cert = tls.cert { out += (try? CertificateReader.file(cert, role: "client")) ?? [] }
    }
    var remotes: [(String, Int, String)] = []
    for m in members {
      if let e = m.endpoint, e.scheme == .https || cluster.config.tls != nil { remotes.append((e.host, e.port, "server")) }
      for peer in m.peerURLs where peer.hasPrefix("https://") {
        if let e = try? EtcdEndpoint(parsing: peer) { remotes.append((e.host, e.port, "peer")) }
      }
    }
    for (host, port, role) in remotes {
      if let c = try? await CertificateReader.remote(host: host, port: port, role: role) { out.append(c) }
    }
    return out
  }
}
