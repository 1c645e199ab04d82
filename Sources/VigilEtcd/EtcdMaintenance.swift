import Foundation
import GRPCCore
import NIOCore
import VigilEtcdProto

/// Maintenance calls. Status, defragment and hashes concern one member: call
/// them on a pinned client (`client.member(endpoint).maintenance`).
public struct EtcdMaintenance: Sendable {
  let client: EtcdClient

  /// The member's view of itself: version, DB size, leader, raft term and index.
  public func status() async throws(EtcdError) -> EtcdMemberStatus {
    let r: Etcdserverpb_StatusResponse = try await client.unary(
      EtcdPaths.status, Etcdserverpb_StatusRequest(), idempotent: true)
    return EtcdMemberStatus(
      memberID: r.header.memberID, clusterID: r.header.clusterID, version: r.version, dbSize: r.dbSize,
      dbSizeInUse: r.dbSizeInUse, leader: r.leader, raftIndex: r.raftIndex, raftTerm: r.raftTerm,
      raftAppliedIndex: r.raftAppliedIndex, revision: r.header.revision, errors: r.errors, isLearner: r.isLearner)
  }

  /// Active alarms across the cluster.
  public func alarms() async throws(EtcdError) -> [EtcdAlarm] {
    let r: Etcdserverpb_AlarmResponse = try await client.unary(
      EtcdPaths.alarm, Etcdserverpb_AlarmRequest.with { $0.action = .get }, idempotent: true)
    return r.alarms.map(Self.alarm)
  }

  /// Clears every active alarm, one by one as etcd requires.
  /// - Returns: the alarms still active afterwards.
  @discardableResult
  public func disarmAll() async throws(EtcdError) -> [EtcdAlarm] {
    for alarm in try await alarms() { try await disarm(memberID: alarm.memberID, kind: alarm.kind) }
    return try await alarms()
  }

  /// Clears one member's alarm.
  /// - Returns: the alarms this call deactivated.
  @discardableResult
  public func disarm(memberID: UInt64, kind: EtcdAlarm.Kind) async throws(EtcdError) -> [EtcdAlarm] {
    let request = Etcdserverpb_AlarmRequest.with {
      $0.action = .deactivate
      $0.memberID = memberID
      $0.alarm =
        switch kind {
        case .none: .none
        case .noSpace: .nospace
        case .corrupt: .corrupt
        }
    }
    let r: Etcdserverpb_AlarmResponse = try await client.unary(EtcdPaths.alarm, request, idempotent: true)
    return r.alarms.map(Self.alarm)
  }

  /// Defragments the member's backend (blocks that member while it runs).
  public func defragment(timeout: TimeAmount = .seconds(120)) async throws(EtcdError) {
    let _: Etcdserverpb_DefragmentResponse = try await client.unary(
      EtcdPaths.defragment, Etcdserverpb_DefragmentRequest(), idempotent: true, timeout: timeout)
  }

  /// Hash of the member's whole backend.
  public func hash() async throws(EtcdError) -> UInt32 {
    let r: Etcdserverpb_HashResponse = try await client.unary(
      EtcdPaths.hash, Etcdserverpb_HashRequest(), idempotent: true, timeout: .seconds(60))
    return r.hash
  }

  /// Hash of the member's keys up to `revision` (0: latest). Equal on every
  /// healthy member at the same revision.
  public func hashKV(revision: Int64 = 0) async throws(EtcdError) -> EtcdHashKV {
    let r: Etcdserverpb_HashKVResponse = try await client.unary(
      EtcdPaths.hashKV, Etcdserverpb_HashKVRequest.with { $0.revision = revision }, idempotent: true,
      timeout: .seconds(60))
    return EtcdHashKV(
      hash: r.hash, compactRevision: r.compactRevision, revision: r.header.revision, memberID: r.header.memberID)
  }

  /// Asks the leader to hand leadership to `targetID`. Send it to the leader.
  public func moveLeader(to targetID: UInt64) async throws(EtcdError) {
    let _: Etcdserverpb_MoveLeaderResponse = try await client.unary(
      EtcdPaths.moveLeader, Etcdserverpb_MoveLeaderRequest.with { $0.targetID = targetID }, idempotent: false,
      timeout: .seconds(30))
  }

  /// Streams a snapshot of the member's backend into `path` (written to a
  /// temporary file first, renamed when complete).
  /// - Returns: the number of bytes written.
  @discardableResult
  public func snapshot(to path: String) async throws(EtcdError) -> Int64 {
    let temporary = path + ".part"
    guard FileManager.default.createFile(atPath: temporary, contents: nil),
      let handle = FileHandle(forWritingAtPath: temporary)
    else {
      throw EtcdError(.invalidArgument, "cannot create snapshot file \"\(temporary)\"")
    }
    let written: Int64
    do {
      written = try await client.streaming { grpc, metadata in
        let stub = Etcdserverpb_Maintenance.Client(wrapping: grpc)
        var options = CallOptions.defaults
        options.timeout = .seconds(600)
        return try await stub.snapshot(
          request: ClientRequest(message: Etcdserverpb_SnapshotRequest(), metadata: metadata), options: options
        ) { response in
          var total: Int64 = 0
          for try await message in response.messages {
            try handle.write(contentsOf: message.blob)
            total += Int64(message.blob.count)
          }
          return total
        }
      }
      try? handle.close()
    } catch {
      try? handle.close()
      try? FileManager.default.removeItem(atPath: temporary)
      throw error
    }
    do {
      if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
      try FileManager.default.moveItem(atPath: temporary, toPath: path)
    } catch {
      throw EtcdError(.invalidArgument, "cannot move snapshot to \"\(path)\": \(error)")
    }
    return written
  }

  static func alarm(_ a: Etcdserverpb_AlarmMember) -> EtcdAlarm {
    let kind: EtcdAlarm.Kind =
      switch a.alarm {
      case .nospace: .noSpace
      case .corrupt: .corrupt
      default: .none
      }
    return EtcdAlarm(memberID: a.memberID, kind: kind)
  }
}

extension EtcdClient {
  /// Each member's own status, asked of all of them at once (each call bounded by `timeout`): one result per
  /// endpoint, in the order given. Connections opened for endpoints this client does not hold are closed
  /// afterwards. `vigil status`, the inspections and the repair's pre-step reading all ask this way.
  public func statuses(of endpoints: [EtcdEndpoint], timeout: TimeAmount) async -> [Result<EtcdMemberStatus, EtcdError>] {
    var results = [Result<EtcdMemberStatus, EtcdError>?](repeating: nil, count: endpoints.count)
    await withTaskGroup(of: (Int, Result<EtcdMemberStatus, EtcdError>).self) { group in
      for (index, endpoint) in endpoints.enumerated() {
        let pinned = member(endpoint)
        group.addTask {
          let result: Result<EtcdMemberStatus, EtcdError>
          do throws(EtcdError) { result = .success(try await pinned.withCallTimeout(timeout).maintenance.status()) } catch {
            result = .failure(error)
          }
          await pinned.shutdown()  // closes only a connection it opened itself
          return (index, result)
        }
      }
      for await (index, result) in group { results[index] = result }
    }
    return results.map { $0! }
  }
}
