import Foundation
import NIOCore
import VigilConfig
import VigilCore
import VigilEtcd
import VigilProbes

/// One probe against one subject (a cluster or one member), run on its own
/// schedule, one run at a time.
struct ProbeTarget: Sendable {
  /// `subject|probe`.
  let key: String
  let cluster: String
  /// `cluster` or `cluster/member`.
  let subject: String
  let member: String?
  let probe: ProbeConfig
  let interval: Duration
  let timeout: Duration
  /// The member's client endpoint, for the reachability check after a failure.
  let memberEndpoint: EtcdEndpoint?
  let run: @Sendable (Duration) async -> ProbeResult

  /// The target as the pure watch sees it.
  var watched: WatchTarget {
    let role: WatchTarget.Role =
      switch probe.kind {
      case .etcdKV: .writes
      case .etcdMember: .status
      default: .other
      }
    return WatchTarget(key: key, subject: Subject(cluster: cluster, member: member), probe: probe.name, role: role)
  }
}

/// A member as the member list gives it, with the name Vigil uses for it.
struct ListedMember: Sendable, Hashable {
  let id: UInt64
  /// The etcd name, or the id in hex for a member that has not started yet.
  let name: String
  let endpoint: EtcdEndpoint?
  let peerURLs: [String]
  let isLearner: Bool

  init(_ m: EtcdMember) {
    id = m.id
    name = m.name.isEmpty ? String(m.id, radix: 16) : m.name
    endpoint = m.clientURLs.first.flatMap { try? EtcdEndpoint(parsing: $0) }
    peerURLs = m.peerURLs
    isLearner = m.isLearner
  }

  var watched: WatchMember { WatchMember(id: id, name: name, isLearner: isLearner) }
}

/// Builds a cluster's probe targets from the configuration.
enum ProbeTargetFactory {
  static func timeAmount(_ d: Duration) -> TimeAmount { .nanoseconds(d.nanoseconds) }

  /// Cluster-level targets (not tied to a member).
  static func clusterTargets(
    _ cluster: GuardedCluster, probes: [ProbeConfig], tier: TierConfig, inbox: ReportInbox?,
    certificateDays: Int, grpcClient: (String) -> EtcdClient?
  ) -> [ProbeTarget] {
    let name = cluster.name
    var out: [ProbeTarget] = []
    for p in probes {
      let interval = p.interval(tier: tier).duration
      let timeout = p.timeout(tier: tier).duration
      func make(_ run: @escaping @Sendable (Duration) async -> ProbeResult) -> ProbeTarget {
        ProbeTarget(
          key: "\(name)|\(p.name)", cluster: name, subject: name, member: nil, probe: p, interval: interval,
          timeout: timeout, memberEndpoint: nil, run: run)
      }
      switch p.kind {
      case .etcdKV:
        let probe = EtcdKVProbe(name: p.name, target: name, client: cluster.client)
        out.append(make { await probe.run(timeout: timeAmount($0)) })
      case .etcdWatch:
        let probe = EtcdWatchProbe(name: p.name, target: name, client: cluster.client)
        out.append(make { await probe.run(timeout: timeAmount($0)) })
      case .etcdMember:
        continue
      case .etcdPerf:
        let probe = EtcdPerfProbe(name: p.name, target: name, client: cluster.client, load: p.load ?? PerfLoad())
        out.append(make { await probe.run(timeout: $0) })
      case .http:
        let probe = HTTPProbe(
          name: p.name, target: name, url: p.url ?? "", expectStatus: p.expectStatus ?? 200,
          bodyContains: p.bodyContains, caFile: p.ca, certificateDays: certificateDays)
        out.append(make { await probe.run(timeout: timeAmount($0)) })
      case .tcp:
        guard let address = p.address, let endpoint = try? EtcdEndpoint(parsing: address) else { continue }
        let probe = TCPProbe(name: p.name, target: name, host: endpoint.host, port: endpoint.port)
        out.append(make { await probe.run(timeout: timeAmount($0)) })
      case .grpcHealth:
        guard let address = p.address, let client = grpcClient(address) else { continue }
        let probe = GRPCHealthProbe(name: p.name, target: name, client: client, service: p.service ?? "")
        out.append(make { await probe.run(timeout: timeAmount($0)) })
      case .exec:
        let environment = [
          "VIGIL_CLUSTER": name,
          "VIGIL_ENDPOINTS": cluster.client.endpoints.map(\.description).joined(separator: ","),
        ]
        let probe = ExecProbe(
          name: p.name, target: name, command: p.command ?? [], environment: environment, inbox: inbox)
        out.append(make { await probe.run(timeout: $0) })
      }
    }
    return out
  }

  /// Per-member targets: `etcd.member` always, `etcd.kv`/`etcd.watch` when `perMember`.
  static func memberTargets(
    cluster: String, member: ListedMember, client: EtcdClient, probes: [ProbeConfig], tier: TierConfig
  ) -> [ProbeTarget] {
    let subject = Subject.member(member.name, of: cluster).key
    var out: [ProbeTarget] = []
    // A learner serves no linearizable reads or writes: only its status is probed.
    for p in probes
    where p.kind == .etcdMember || (p.perMember && !member.isLearner && (p.kind == .etcdKV || p.kind == .etcdWatch)) {
      let interval = (p.interval ?? tier.probeInterval).duration
      let timeout = (p.timeout ?? tier.probeTimeout).duration
      let run: @Sendable (Duration) async -> ProbeResult
      switch p.kind {
      case .etcdKV:
        let probe = EtcdKVProbe(name: p.name, target: subject, client: client)
        run = { await probe.run(timeout: timeAmount($0)) }
      case .etcdWatch:
        let probe = EtcdWatchProbe(name: p.name, target: subject, client: client)
        run = { await probe.run(timeout: timeAmount($0)) }
      default:
        let probe = EtcdMemberProbe(name: p.name, target: subject, member: client)
        run = { await probe.run(timeout: timeAmount($0)) }
      }
      out.append(
        ProbeTarget(
          key: "\(subject)|\(p.name)", cluster: cluster, subject: subject, member: member.name, probe: p,
          interval: interval, timeout: timeout, memberEndpoint: member.endpoint, run: run))
    }
    return out
  }
}
