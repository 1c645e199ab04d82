import NIOCore
import VigilCore
import VigilEtcd

/// `etcd.member`: one member's own view — reachable, leader known, raft term
/// and index, DB size and in-use size, learner, alarms. The numbers go into
/// `metrics`; the status itself (ids are 64-bit, too wide for a Double) is in
/// `memberStatus` (raft index lag is computed across members by the caller).
public struct EtcdMemberProbe: Sendable {
  public let name: String
  public let target: String
  let member: EtcdClient

  /// - Parameter member: a client pinned to the member (`client.member(endpoint)`).
  public init(name: String, target: String, member: EtcdClient) {
    self.name = name
    self.target = target
    self.member = member
  }

  public func run(timeout: TimeAmount) async -> ProbeResult {
    let c = member.withCallTimeout(timeout)
    var timer = StepTimer()
    do {
      let status = try await timer.step("status") { () async throws(EtcdError) in try await c.maintenance.status() }
      // Learners answer Status but refuse the Alarm RPC. The alarm list goes through raft: a member cut
      // off from a quorum answers its status but not this, and the result says both.
      var alarms: [EtcdAlarm] = []
      if !status.isLearner {
        do {
          alarms = try await timer.step("alarms") { () async throws(EtcdError) in try await c.maintenance.alarms() }
        } catch {
          return ProbeResult(
            probe: name, target: target, status: .critical, failure: ProbeFailureKind(error),
            message: "status answered (term \(status.raftTerm), index \(status.raftIndex)); alarms: \(error.description)",
            latency: timer.elapsed, steps: timer.steps, metrics: [:], memberStatus: status)
        }
      }
      let mine = alarms.filter { $0.memberID == status.memberID }.map(\.kind.rawValue)
      var metrics: [String: Double] = [
        "raft_index": Double(status.raftIndex), "raft_applied_index": Double(status.raftAppliedIndex),
        "raft_term": Double(status.raftTerm), "db_size_bytes": Double(status.dbSize),
        "db_size_in_use_bytes": Double(status.dbSizeInUse), "is_learner": status.isLearner ? 1 : 0,
        "is_leader": status.isLeader ? 1 : 0, "has_leader": status.leader != 0 ? 1 : 0
      ]
      for kind in ["NOSPACE", "CORRUPT"] { metrics["alarm_\(kind.lowercased())"] = mine.contains(kind) ? 1 : 0 }
      let problems = (status.leader == 0 ? ["no leader"] : []) + mine.map { "\($0) alarm" } + status.errors
      return ProbeResult(
        probe: name, target: target, status: problems.isEmpty ? .ok : .critical,
        failure: problems.isEmpty ? nil : .badAnswer,
        message: problems.isEmpty
          ? "term \(status.raftTerm), index \(status.raftIndex)\(status.isLeader ? ", leader" : "")"
          : problems.joined(separator: "; "),
        latency: timer.elapsed, steps: timer.steps, metrics: metrics, memberStatus: status, memberAlarms: Set(mine))
    } catch {
      return ProbeResult(
        probe: name, target: target, status: .critical, failure: ProbeFailureKind(error), message: error.description,
        latency: timer.elapsed, steps: timer.steps, metrics: [:])
    }
  }
}
