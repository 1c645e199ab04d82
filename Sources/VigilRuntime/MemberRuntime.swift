import VigilEtcd

/// Where a member lives: what a runtime driver needs to act on it.
public struct MemberSpec: Sendable, Hashable, Codable {
  public var name: String
  public var clientURL: String
  public var peerURL: String
  public var dataDir: String

  public init(name: String, clientURL: String, peerURL: String, dataDir: String) {
    self.name = name
    self.clientURL = clientURL
    self.peerURL = peerURL
    self.dataDir = dataDir
  }
}

/// A runtime driver failed.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// How a cluster's member processes are started, stopped, killed and wiped.
/// Every action is idempotent: starting a running member or killing a stopped
/// one succeeds without doing anything.
public protocol MemberRuntime: Sendable {
  /// The driver's name for logs and the audit log (`local`, `exec`).
  var kind: String { get }
  /// Where `name` lives (nil: the runtime does not know it).
  /// - Parameter listed: the member as etcd lists it, if it is listed.
  func spec(of name: String, listed: EtcdMember?) async -> MemberSpec?
  /// Starts a stopped member with its data dir.
  /// - Parameter initialCluster: for a new member joining: every member's `name=peerURL`; nil to restart an existing one.
  func start(_ member: MemberSpec, initialCluster: [(name: String, peerURL: String)]?) async throws
  /// Stops it gracefully.
  func stop(_ member: MemberSpec) async throws
  /// Kills it at once.
  func kill(_ member: MemberSpec) async throws
  /// Deletes its data dir (it must be stopped).
  func wipe(_ member: MemberSpec) async throws
  /// Reserves a name, URLs and an empty data dir for a new member.
  func provision(name: String) async throws -> MemberSpec
  /// Replaces a stopped member's data dir with one restored from a snapshot file for a new cluster: every
  /// member of that cluster is restored from the same snapshot with the same new `token` (etcd's recovery
  /// rule). The old data dir is retired, never reused.
  func restore(_ member: MemberSpec, snapshot: String, initialCluster: [(name: String, peerURL: String)], token: String)
    async throws
  /// Forgets a member that was removed from the cluster: stops it if it runs; its data dir is never used again.
  func retire(_ member: MemberSpec) async throws
}
