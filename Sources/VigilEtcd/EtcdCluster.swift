import VigilEtcdProto

/// Membership calls: `client.cluster.list/add/remove/update/promote`.
public struct EtcdCluster: Sendable {
  let client: EtcdClient

  /// Every member, voters and learners.
  public func list() async throws(EtcdError) -> [EtcdMember] {
    let response: Etcdserverpb_MemberListResponse = try await client.unary(
      EtcdPaths.memberList, Etcdserverpb_MemberListRequest(), idempotent: true)
    return response.members.map(EtcdMember.init)
  }

  /// Adds a member (as a learner when `learner` is true); start its process afterwards
  /// with `--initial-cluster-state existing`.
  /// - Returns: the new member and the member list after the change.
  public func add(peerURLs: [String], learner: Bool) async throws(EtcdError) -> (
    member: EtcdMember, members: [EtcdMember]
  ) {
    let request = Etcdserverpb_MemberAddRequest.with {
      $0.peerUrls = peerURLs
      $0.isLearner = learner
    }
    let response: Etcdserverpb_MemberAddResponse = try await client.unary(
      EtcdPaths.memberAdd, request, idempotent: false)
    return (EtcdMember(response.member), response.members.map(EtcdMember.init))
  }

  /// Removes a member by id.
  @discardableResult
  public func remove(id: UInt64) async throws(EtcdError) -> [EtcdMember] {
    let response: Etcdserverpb_MemberRemoveResponse = try await client.unary(
      EtcdPaths.memberRemove, Etcdserverpb_MemberRemoveRequest.with { $0.id = id }, idempotent: false)
    return response.members.map(EtcdMember.init)
  }

  /// Changes a member's peer URLs.
  @discardableResult
  public func update(id: UInt64, peerURLs: [String]) async throws(EtcdError) -> [EtcdMember] {
    let request = Etcdserverpb_MemberUpdateRequest.with {
      $0.id = id
      $0.peerUrls = peerURLs
    }
    let response: Etcdserverpb_MemberUpdateResponse = try await client.unary(
      EtcdPaths.memberUpdate, request, idempotent: true)
    return response.members.map(EtcdMember.init)
  }

  /// Promotes a learner to a voter. etcd refuses (`.failedPrecondition`) until it has caught up.
  @discardableResult
  public func promote(id: UInt64) async throws(EtcdError) -> [EtcdMember] {
    let response: Etcdserverpb_MemberPromoteResponse = try await client.unary(
      EtcdPaths.memberPromote, Etcdserverpb_MemberPromoteRequest.with { $0.id = id }, idempotent: false)
    return response.members.map(EtcdMember.init)
  }
}
