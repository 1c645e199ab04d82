import Foundation
import NIOCore
import VigilEtcd
import VigilProxy
import VigilRuntime

/// A drill's two sites: the primary cluster on the first half of the test hosts, its standby (a cluster of
/// its own, mirrored by Vigil) on the second half, and an in-process `vigil proxy` in front that follows the
/// endpoints Vigil publishes for the pair — the workload's whole-cluster clients go through it.
struct DrillSites: Sendable {
  let primaryName: String
  let standbyName: String
  let standby: LocalCluster
  let primaryHosts: [String]
  let standbyHosts: [String]
  let standbyAdmin: DrillAdmin
  let proxy: TCPProxy

  /// The recorded workload's pace and the churn writer's with two sites (a debug build's mirror is several
  /// times slower than a release build's: its drills write less, so a standby cut off can catch up).
  #if DEBUG
    static let workloadPace: Duration = .milliseconds(60)
    static let churnPace: Duration = .milliseconds(250)
  #else
    static let workloadPace: Duration = .milliseconds(40)
    static let churnPace: Duration = .milliseconds(100)
  #endif

  /// A client of the pair as the proxy serves it.
  func proxyClient(timeout: TimeAmount = .seconds(2)) throws -> EtcdClient {
    try EtcdClient(
      configuration: DrillAdmin.config(
        endpoints: [EtcdEndpoint(host: "127.0.0.1", port: proxy.localAddress?.port ?? 0)], timeout: timeout))
  }
}

/// Changes the standby must carry besides the recorded workload: puts and deletes over a small key set,
/// transactions of 40 puts (more than the drills' `standby.maxTxnOps`, so the mirror applies them in parts),
/// range deletes, and keys on leases that are granted and revoked. Errors are ignored (the drill's fault
/// interrupts it); what the standby must hold is checked against the primary afterwards.
struct MirrorChurn: Sendable {
  static let prefix = "/drill-churn/"

  func run(_ client: EtcdClient) async {
    var lease: Int64?
    var step = 0
    while !Task.isCancelled {
      step += 1
      let kv = client.kv
      _ = try? await kv.put("\(Self.prefix)k/\(step % 64)", "v\(step)")
      _ = try? await kv.delete("\(Self.prefix)k/\((step + 32) % 64)")
      switch step % 20 {
      case 0:
        let ops = (0..<40).map { EtcdOp.put("\(Self.prefix)t/\($0)", "\(step)-\($0)") }
        _ = try? await kv.txn([], success: ops)
      case 5:
        _ = try? await kv.txn(
          [], success: [.deleteRange(from: Array("\(Self.prefix)t/1".utf8), to: Array("\(Self.prefix)t/3".utf8))])
      case 10:
        if let granted = try? await client.lease.grant(ttl: 30) {
          for i in 0..<3 { _ = try? await kv.put("\(Self.prefix)l/\(step)/\(i)", "leased", lease: granted.id) }
          if let old = lease { try? await client.lease.revoke(old) }
          lease = granted.id
        }
      default: break
      }
      try? await Task.sleep(for: DrillSites.churnPace)
    }
  }
}
