import VigilCore
import VigilConfig
import VigilEtcd

/// A cluster under Vigil's guard: its configuration, a client, and what its
/// runtime can tell about members' data.
public struct GuardedCluster: Sendable {
  public var config: ClusterConfig
  public var client: EtcdClient
  /// Where a member keeps its data, if the runtime knows (the local runtime does);
  /// an empty or missing data dir is a data-loss signal.
  public var dataDir: @Sendable (_ member: String) async -> String?
  /// The backend quota; from the runtime or the configuration (etcd's default 2 GiB).
  public var quotaBytes: Int64
  /// When the cluster's newest backup was verified (or its backups began, before the first one is); nil
  /// when Vigil takes no backups of it.
  public var backupVerifiedAt: (@Sendable () async -> Double)?
  /// How its standby mirror stands; nil when it has no standby.
  public var standby: (@Sendable () async -> StandbyStatus)?
  /// Where a member's log is read (nil for a member whose log cannot be); nil when no member's can.
  public var logSource: (@Sendable (_ member: String) async -> MemberLogSource?)?
  /// A member's etcd command line, when its runtime can report it (for the drift inspection).
  public var memberArguments: (@Sendable (_ member: String) async -> [String]?)?

  public init(
    config: ClusterConfig, client: EtcdClient, quotaBytes: Int64? = nil,
    dataDir: @escaping @Sendable (_ member: String) async -> String? = { _ in nil }
  ) {
    self.config = config
    self.client = client
    self.dataDir = dataDir
    self.quotaBytes = quotaBytes ?? config.quotaBytes ?? (2 << 30)
  }

  public var name: String { config.name }
}
