import VigilEtcd

/// The `local` driver: members are processes of a ``LocalCluster`` that Vigil runs itself.
public struct LocalRuntime: MemberRuntime {
  public let cluster: LocalCluster
  public var kind: String { "local" }

  public init(cluster: LocalCluster) { self.cluster = cluster }

  public func spec(of name: String, listed: EtcdMember?) async -> MemberSpec? {
    guard let m = try? await cluster.member(name) else { return nil }
    return MemberSpec(name: m.name, clientURL: m.clientEndpoint.description, peerURL: m.peerURL, dataDir: m.dataDir)
  }

  public func start(_ member: MemberSpec, initialCluster: [(name: String, peerURL: String)]?) async throws {
    let state = try await cluster.state(of: member.name)
    if state == .running, try await cluster.pid(of: member.name) != nil { return }
    if state == .frozen { throw RuntimeError("member \(member.name) is frozen; kill it before starting it") }
    if let initialCluster, state == .notStarted {
      try await cluster.startJoining(member.name, initialCluster: initialCluster, waitHealthy: false)
    } else {
      try await cluster.start(member.name, waitHealthy: false)
    }
  }

  public func stop(_ member: MemberSpec) async throws {
    guard (try? await cluster.member(member.name)) != nil else { return }
    try await cluster.stop(member.name)
  }

  public func kill(_ member: MemberSpec) async throws {
    guard (try? await cluster.member(member.name)) != nil else { return }
    try await cluster.kill(member.name)
  }

  public func wipe(_ member: MemberSpec) async throws {
    try await cluster.wipe(member.name)
  }

  public func provision(name: String) async throws -> MemberSpec {
    if let existing = await spec(of: name, listed: nil), try await cluster.state(of: name) == .notStarted {
      return existing  // provisioned before a restart of the plan
    }
    let m = try await cluster.prepareMember(name: name)
    return MemberSpec(name: m.name, clientURL: m.clientEndpoint.description, peerURL: m.peerURL, dataDir: m.dataDir)
  }

  public func restore(
    _ member: MemberSpec, snapshot: String, initialCluster: [(name: String, peerURL: String)], token: String
  ) async throws {
    try await cluster.restore(member.name, snapshot: snapshot, initialCluster: initialCluster, token: token)
  }

  public func retire(_ member: MemberSpec) async throws {
    guard (try? await cluster.member(member.name)) != nil else { return }
    try await cluster.forget(member.name)
  }
}
