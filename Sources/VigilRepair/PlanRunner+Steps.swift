import Foundation
import NIOCore
import VigilCore
import VigilEtcd
import VigilRuntime

extension PlanRunner {
  /// Does one step; returns what it did. Throws when it fails.
  func perform(_ step: PlanStep, _ plan: inout RepairPlan) async throws -> String {
    switch step.action {
    case .fence, .kill:
      let target = try memberSpec(plan)
      let runtime = try requireRuntime()
      try await runtime.kill(target)
      return "\(target.name) stopped (\(runtime.kind) runtime)"
    case .start:
      let target = try await stepSpec(step, plan)
      if !target.dataDir.isEmpty, !EtcdDataDir.hasData(target.dataDir) {
        // Started without its data, it would come back as a stranger to its peers: that is replace-member's job.
        throw RuntimeError("\(target.name)'s data dir \(target.dataDir) is empty: restarting it is unsafe, it must be replaced")
      }
      try await requireRuntime().start(target, initialCluster: nil)
      return "\(target.name) started with its data dir"
    case .waitHealthy:
      let target = try await stepSpec(step, plan)
      return try await waitHealthy(clientURL: target.clientURL, name: target.name)
    case .snapshot:
      return try await snapshot(&plan)
    case .remove:
      return try await remove(&plan)
    case .provision:
      return try await provision(&plan)
    case .addLearner:
      return try await addLearner(&plan)
    case .startNew:
      guard let new = spec("new", in: plan) else { throw RuntimeError("no member was provisioned") }
      var initial: [(name: String, peerURL: String)] = []
      for pair in (plan.context["initialCluster"] ?? "").split(separator: ",") {
        let parts = pair.split(separator: "=", maxSplits: 1)
        if parts.count == 2 { initial.append((String(parts[0]), String(parts[1]))) }
      }
      try await requireRuntime().start(new, initialCluster: initial)
      return "\(new.name) started empty at \(new.clientURL)"
    case .waitCaughtUp:
      return try await waitCaughtUp(plan)
    case .promote:
      return try await promote(plan)
    case .compact:
      // A retry keeps no history: the kept revisions themselves may be what fills the quota (a burst of
      // large writes just before NOSPACE), and the first attempt's verify-writes found it still full.
      return try await compact(keep: plan.attempt > 1 ? 0 : settings.keepRevisions)
    case .defragment:
      return try await defragment(step.member)
    case .disarm:
      let left = try await client.maintenance.disarmAll()
      return left.isEmpty ? "alarms disarmed" : "alarms still raised: \(left.map { "\($0.kind)" })"
    case .verifyWrites:
      let key = "/vigil/repair/\(plan.cluster)/\(plan.id)"
      try await client.kv.put(key, "verify")
      _ = try await client.kv.delete(key)
      return "a write was accepted"
    case .moveLeader:
      return try await moveLeader()
    case .verify:
      return try await verify(plan)
    case .confirmQuorumLost:
      return try await confirmQuorumLost(plan)
    case .fenceAll:
      return try await fenceAll(plan)
    case .restoreAll:
      return try await restoreAll(&plan)
    case .startAll:
      return try await startAll(plan)
    case .replayChangeLog:
      return try await replayChangeLog(&plan)
    case .fenceSide:
      return try await fenceSide(plan)
    case .drainStandby:
      return try await drainStandby(&plan)
    case .compactNewSide:
      return try await compactNewSide()
    case .switchActive:
      return try await switchActive(plan)
    case .startOldSide:
      return try await startOldSide(plan)
    case .rotateMemberCertificates:
      return try await rotateMemberCertificates(step, plan)
    case .verifyCertificate:
      return try await verifyCertificate(step, plan)
    }
  }

  /// The member a step acts on: the plan's member, or the step's own in a cluster-wide plan.
  func stepSpec(_ step: PlanStep, _ plan: RepairPlan) async throws -> MemberSpec {
    if let name = step.member, name != plan.member { return try await memberSpec(named: name, in: plan) }
    return try memberSpec(plan)
  }

  func requireRuntime() throws -> any MemberRuntime {
    guard let runtime else {
      throw RuntimeError("cluster \(cluster.name) has no runtime driver (runtime: external): Vigil cannot start or stop its members")
    }
    return runtime
  }

  func memberSpec(_ plan: RepairPlan) throws -> MemberSpec {
    if let s = spec("member", in: plan) { return s }
    throw RuntimeError("the runtime does not know member \(plan.member ?? "?") of \(plan.cluster)")
  }

  var memberTimeout: Duration { settings.memberTimeout.duration }

  /// Polls until the member at `clientURL` answers with a leader.
  func waitHealthy(clientURL: String, name: String) async throws -> String {
    try await withPinned(clientURL) { pinned in try await waitHealthy(pinned, name: name) }
  }

  /// Runs `body` with a client pinned to `url` on a connection of its own (the cluster client's connection to
  /// that member may be closed under it when the member list changes, as in a restore), closing it afterwards.
  func withPinned<T: Sendable>(_ url: String, _ body: (EtcdClient) async throws -> T) async throws -> T {
    let pinned = client.member(try EtcdEndpoint(parsing: url), sharing: false)
    do {
      let result = try await body(pinned)
      await pinned.shutdown()
      return result
    } catch {
      await pinned.shutdown()
      throw error
    }
  }

  func waitHealthy(_ pinned: EtcdClient, name: String) async throws -> String {
    let began = ContinuousClock.now
    var last = "no answer yet"
    while ContinuousClock.now - began < memberTimeout {
      do {
        let s = try await pinned.withCallTimeout(.milliseconds(500)).maintenance.status()
        if s.leader != 0 { return "\(name) answers with leader \(String(s.leader, radix: 16)) at index \(s.raftIndex)" }
        last = "no leader yet"
      } catch { last = "\(error)" }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw RuntimeError("\(name) did not answer with a leader within \(memberTimeout): \(last)")
  }

  func snapshot(_ plan: inout RepairPlan) async throws -> String {
    if let backup {
      // A full backup like any other (stored, verified, kept by retention), taken now for this change.
      let record = try await backup.snapshotNow(reason: .membershipChange)
      plan.context["snapshot"] = record.id
      plan.context["snapshotAt"] = String(Self.now())
      let verified = record.verification == .verified ? "verified" : "verification \(record.verification.rawValue)"
      return "snapshot \(record.id) (\(record.size) bytes, \(verified)) stored in \(backup.store.description)"
    }
    try FileManager.default.createDirectory(atPath: snapshotDir, withIntermediateDirectories: true)
    let path = "\(snapshotDir)/\(plan.cluster)-plan\(plan.id)-\(Int(Self.now())).db"
    let bytes = try await client.withCallTimeout(.seconds(300)).maintenance.snapshot(to: path)
    plan.context["snapshot"] = path
    plan.context["snapshotAt"] = String(Self.now())
    pruneSnapshots(keep: 3)
    return "\(bytes) bytes saved to \(path)"
  }

  /// Keeps the newest `keep` repair snapshots of this cluster.
  func pruneSnapshots(keep: Int) {
    let fm = FileManager.default
    guard let files = try? fm.contentsOfDirectory(atPath: snapshotDir) else { return }
    let mine = files.filter { $0.hasPrefix("\(cluster.name)-plan") && $0.hasSuffix(".db") }.map { "\(snapshotDir)/\($0)" }
    let dated = mine.map { ($0, (try? fm.attributesOfItem(atPath: $0)[.modificationDate] as? Date) ?? .distantPast) }
    for (path, _) in dated.sorted(by: { $0.1 > $1.1 }).dropFirst(keep) { try? fm.removeItem(atPath: path) }
  }

  func remove(_ plan: inout RepairPlan) async throws -> String {
    guard let idText = plan.context["member.id"], let id = UInt64(idText, radix: 16) else {
      throw RuntimeError("the member id of \(plan.member ?? "?") was not recorded")
    }
    let name = plan.member ?? "?"
    let client = self.client
    // Each try looks first: a removal that timed out may still have been applied.
    var detail = try await retryingWhileSettling { () async throws(EtcdError) -> String in
      guard try await client.cluster.list().contains(where: { $0.id == id }) else {
        return "\(name) (\(idText)) is not a member (any more)"
      }
      _ = try await client.cluster.remove(id: id)
      return "removed \(name) (\(idText))"
    }
    if let runtime, let old = spec("member", in: plan) {
      try await runtime.retire(old)
      detail += "; its data dir is retired, never reused"
    }
    return detail
  }

  func provision(_ plan: inout RepairPlan) async throws -> String {
    let base = plan.member.map { name -> String in
      // m2 → m2-14; m2-14 → m2-27: a fresh name each time, readable lineage.
      if let dash = name.lastIndex(of: "-"), Int(name[name.index(after: dash)...]) != nil { return String(name[..<dash]) }
      return name
    } ?? "member"
    let id = plan.id
    var name = "\(base)-\(id)"
    if let chosen = plan.context["new.name"] { name = chosen }
    let new = try await requireRuntime().provision(name: name)
    remember(new, as: "new", in: &plan)
    plan.context["newName"] = new.name
    return "\(new.name): client \(new.clientURL), peer \(new.peerURL), data dir \(new.dataDir)"
  }

  func addLearner(_ plan: inout RepairPlan) async throws -> String {
    guard let new = spec("new", in: plan) else { throw RuntimeError("no member was provisioned") }
    let client = self.client
    let peer = new.peerURL
    let newName = new.name
    // Each try looks first: an addition that timed out may still have been applied.
    let (id, members, detail) = try await retryingWhileSettling {
      () async throws(EtcdError) -> (UInt64, [EtcdMember], String) in
      let list = try await client.cluster.list()
      if let existing = list.first(where: { $0.peerURLs.contains(peer) }) {
        return (existing.id, list, "\(newName) is a member as \(String(existing.id, radix: 16))")
      }
      let added = try await client.cluster.add(peerURLs: [peer], learner: true)
      return (added.member.id, added.members, "added \(newName) as learner \(String(added.member.id, radix: 16))")
    }
    plan.context["new.id"] = String(id, radix: 16)
    plan.context["initialCluster"] = members.compactMap { m -> String? in
      guard let peer = m.peerURLs.first else { return nil }
      return "\(m.id == id ? new.name : m.name)=\(peer)"
    }.joined(separator: ",")
    return detail
  }

  /// Membership changes wait out what settles by itself: an election under way (the leader was the member
  /// that failed), a request that timed out, or etcd's "unhealthy cluster" until the member taking the
  /// change has been connected to every voter for a few seconds. `body` must check the state before acting.
  func retryingWhileSettling<T: Sendable>(_ body: () async throws(EtcdError) -> T) async throws -> T {
    let began = ContinuousClock.now
    while true {
      do { return try await body() } catch {
        let settling =
          [.unavailable, .timedOut, .outcomeUnknown, .unreachable].contains(error.code)
          || error.message.contains("unhealthy cluster") || error.message.contains("not enough started")
          || error.message.contains("leader")
        guard settling, ContinuousClock.now - began < memberTimeout else { throw error }
      }
      try await Task.sleep(for: .milliseconds(100))
    }
  }

  func waitCaughtUp(_ plan: RepairPlan) async throws -> String {
    guard let new = spec("new", in: plan) else { throw RuntimeError("no member was provisioned") }
    return try await withPinned(new.clientURL) { pinned in try await waitCaughtUp(pinned, name: new.name) }
  }

  func waitCaughtUp(_ pinned: EtcdClient, name: String) async throws -> String {
    let began = ContinuousClock.now
    var target: UInt64?
    var last = "no answer yet"
    while ContinuousClock.now - began < memberTimeout {
      do {
        if target == nil {
          // The leader's index when we start waiting: the learner has caught up once it applied that far.
          target = try await client.withCallTimeout(.seconds(1)).maintenance.status().raftIndex
        }
        let s = try await pinned.withCallTimeout(.milliseconds(500)).maintenance.status()
        if let target, s.raftAppliedIndex >= target {
          return "\(name) applied index \(s.raftAppliedIndex) ≥ \(target)"
        }
        last = "applied \(s.raftAppliedIndex) of \(target ?? 0)"
      } catch { last = "\(error)" }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw RuntimeError("\(name) did not catch up within \(memberTimeout): \(last)")
  }

  func promote(_ plan: RepairPlan) async throws -> String {
    guard let idText = plan.context["new.id"], let id = UInt64(idText, radix: 16) else {
      throw RuntimeError("the new member's id was not recorded")
    }
    let began = ContinuousClock.now
    var last = ""
    while ContinuousClock.now - began < memberTimeout {
      let list = try await client.cluster.list()
      guard let m = list.first(where: { $0.id == id }) else { throw RuntimeError("member \(idText) is no longer listed") }
      if !m.isLearner { return "\(m.name.isEmpty ? idText : m.name) is a voter" }
      do {
        _ = try await client.cluster.promote(id: id)
        return "promoted \(m.name.isEmpty ? idText : m.name) to voter"
      } catch {
        last = "\(error)"  // etcd refuses until the learner is in sync with the leader
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw RuntimeError("etcd did not accept the promotion within \(memberTimeout): \(last)")
  }

  /// Compacts keeping the last `keep` revisions; when the cluster's quota is known and the kept history
  /// still fills over half of it (a burst of large writes just before NOSPACE), compacts to the current revision.
  func compact(keep: Int) async throws -> String {
    var detail = try await compactOnce(keep: keep)
    if keep > 0, let quota = cluster.quotaBytes, let s = try? await client.maintenance.status(), s.dbSizeInUse > quota / 2 {
      detail += "; still \(s.dbSizeInUse) bytes in use of the \(quota)-byte quota, so "
      detail += try await compactOnce(keep: 0)
    }
    return detail
  }

  func compactOnce(keep: Int) async throws -> String {
    let status = try await client.maintenance.status()
    let target = status.revision - Int64(keep)
    guard target > 0 else { return "revision \(status.revision): nothing older than the last \(keep) to compact" }
    var failure: EtcdError?
    do { try await client.withCallTimeout(.seconds(120)).kv.compact(revision: target, physical: true) } catch {
      failure = error
    }
    if let failure {
      guard failure.message.contains("compacted") else { throw failure }
      return "already compacted past \(target)"
    }
    return "compacted up to revision \(target) (keeping \(keep))"
  }

  func defragment(_ name: String?) async throws -> String {
    let list = try await client.cluster.list()
    guard let m = list.first(where: { $0.name == name }), let url = m.clientURLs.first else {
      return "\(name ?? "?") is not a member any more; skipped"
    }
    let name = m.name
    return try await withPinned(url) { pinned in
      let before = try? await pinned.maintenance.status()
      try await pinned.maintenance.defragment()
      let after = try? await pinned.maintenance.status()
      return "\(name): \(before?.dbSize ?? 0) → \(after?.dbSize ?? 0) bytes"
    }
  }

  func moveLeader() async throws -> String {
    let reading = try await LiveClusterReader.read(client)
    guard let leader = reading.cluster.leader,
      let url = reading.listed.first(where: { $0.id == leader.id })?.clientURLs.first
    else { throw RuntimeError("no leader to move") }
    let candidates = reading.cluster.voters.filter { $0.healthy && !$0.isLeader }
    guard let target = candidates.max(by: { ($0.appliedIndex ?? 0) < ($1.appliedIndex ?? 0) }) else {
      throw RuntimeError("no healthy follower to hand leadership to")
    }
    let targetID = target.id
    try await withPinned(url) { pinned in try await pinned.maintenance.moveLeader(to: targetID) }
    return "leadership moved from \(leader.name) to \(target.name)"
  }

  /// Every voter answers with one leader, no fewer voters than before, and a KV round trip works.
  func verify(_ plan: RepairPlan) async throws -> String {
    let expected = Int(plan.context["voters"] ?? "") ?? 0
    let began = ContinuousClock.now
    var last = ""
    while ContinuousClock.now - began < memberTimeout {
      do {
        let reading = try await LiveClusterReader.read(client)
        let voters = reading.cluster.voters
        let leaders = Set(voters.filter(\.healthy).compactMap { reading.statuses[$0.id]?.leader })
        if let missing = RepairVerification.missing(
          reading.cluster, leaders: leaders, runbook: plan.runbook, member: plan.member, expectedVoters: expected)
        {
          last = missing
        } else {
          let key = "/vigil/repair/\(plan.cluster)/verify-\(plan.id)"
          try await client.kv.put(key, "ok")
          guard try await client.kv.get(key)?.valueString == "ok" else { throw RuntimeError("read back a different value") }
          _ = try await client.kv.delete(key)
          let healthy = voters.filter(\.healthy)
          let down = voters.filter { !$0.healthy }.map(\.name)
          return "\(healthy.count) voters healthy (\(healthy.map(\.name).joined(separator: ", "))), leader \(voters.first { $0.isLeader }?.name ?? "?"), writes accepted"
            + (down.isEmpty ? "" : "; \(down.joined(separator: ", ")) still down (a fault of its own)")
        }
      } catch { last = "\(error)" }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw RuntimeError("the cluster was not verified healthy within \(memberTimeout): \(last)")
  }
}
