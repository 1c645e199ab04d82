/// With several replicas of Vigil: which clusters this replica may plan and repair, the fence each step of a
/// plan passes (it throws when the replica no longer owns the cluster), and what to forget once a plan ends.
/// `vigil serve` builds it from its ``ReplicaCoordinator``; without coordination there is none and every
/// cluster is this process's own.
public struct RepairOwnership: Sendable {
  /// This replica's id (named in the audit when it resumes a plan another left).
  public var replica: String
  public var owns: @Sendable (_ cluster: String) async -> Bool
  /// `step` is `CLUSTER/PLAN/STEP`.
  public var fence: @Sendable (_ cluster: String, _ step: String) async throws -> Void
  /// A plan of `cluster` ended: its step records can go.
  public var ended: @Sendable (_ cluster: String, _ plan: Int64) async -> Void

  public init(
    replica: String = "", owns: @escaping @Sendable (_ cluster: String) async -> Bool,
    fence: @escaping @Sendable (_ cluster: String, _ step: String) async throws -> Void,
    ended: @escaping @Sendable (_ cluster: String, _ plan: Int64) async -> Void
  ) {
    self.replica = replica
    self.owns = owns
    self.fence = fence
    self.ended = ended
  }
}

extension RepairCoordinator {
  /// Makes this coordinator one replica among several (see ``RepairOwnership``).
  public func share(_ ownership: RepairOwnership) { self.ownership = ownership }

  /// Refuses a person's request on a cluster another replica repairs (it would be stopped at its first step).
  func ownedHere(_ cluster: String) async throws {
    if let ownership, await !ownership.owns(cluster) {
      throw RepairRequestError(
        "\(cluster) is repaired by another replica of Vigil now (see GET /v1/coordination): ask that one", status: 409)
    }
  }

  /// Clusters with a plan running now.
  public var busyClusters: Set<String> { Set(running.keys) }
}
