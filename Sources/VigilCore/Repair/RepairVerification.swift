/// When a repaired cluster counts as repaired (the verify-cluster step), judged on a fresh read of it.
public enum RepairVerification {
  /// Nil when `runbook` on `member` is verified; otherwise what is still missing.
  /// - Parameters:
  ///   - leaders: the leaders the healthy voters name (one when they agree).
  ///   - expectedVoters: voters the cluster had when the plan began.
  public static func missing(
    _ cluster: LiveCluster, leaders: Set<UInt64>, runbook: Runbook, member: String?, expectedVoters: Int
  ) -> String? {
    let voters = cluster.voters
    if runbook == .restartMember || runbook == .unstickMember, let member {
      // A member started again on its own data: it must answer with the cluster's one leader and a quorum must
      // work. Another voter still down is a fault of its own, with a plan of its own, which this plan must not
      // hold up (two members crashed one probe apart get one restart each, one after the other).
      guard let m = cluster.member(member), m.healthy else { return "\(member) is not healthy" }
      if leaders.count != 1 { return "voters disagree on the leader" }
      let need = LiveCluster.quorum(voters.count)
      if cluster.healthyVoters.count < need {
        return "\(cluster.healthyVoters.count) of \(voters.count) voters healthy; a quorum needs \(need)"
      }
      return nil
    }
    if runbook == .restartMembers {
      // Each restarted member proved itself in its wait-healthy step; the cluster must have its quorum back. A
      // voter lost for good beside them (its data gone) is replaced by a plan of its own, once there is a quorum.
      if leaders.count != 1 { return "voters disagree on the leader" }
      let need = LiveCluster.quorum(voters.count)
      if cluster.healthyVoters.count < need {
        return "\(cluster.healthyVoters.count) of \(voters.count) voters healthy; a quorum needs \(need)"
      }
      return nil
    }
    if !cluster.allVotersHealthy { return "not every voter is healthy: \(voters.filter { !$0.healthy }.map(\.name))" }
    if leaders.count != 1 { return "voters disagree on the leader" }
    if voters.count < expectedVoters { return "\(voters.count) voters, expected \(expectedVoters)" }
    if !cluster.learners.isEmpty { return "learner \(cluster.learners.map(\.name)) not promoted" }
    return nil
  }
}
