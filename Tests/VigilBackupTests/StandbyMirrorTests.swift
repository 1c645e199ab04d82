import Foundation
import Logging
import Testing
import VigilBackup
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilTestKit

/// A standby mirror between two real clusters: every change copied one transaction per source revision
/// (in parts past the standby's operation limit), deletes and leases included; a restart resumes exactly
/// where the stored position says; a compacted position re-seeds; a standby holding data Vigil did not
/// write is left alone.
@Suite(.serialized) struct StandbyMirrorTests {
  /// Every key except Vigil's reserved ones (the position; the heartbeat, which changes every 200 ms and so
  /// may differ between two reads), as key → value.
  static func contents(_ client: EtcdClient, revision: Int64 = 0) async throws -> [String: String] {
    let all = try await client.kv.range("", prefix: true, revision: revision)
    return Dictionary(
      uniqueKeysWithValues: all.kvs.filter { !$0.keyString.hasPrefix("/vigil/standby/") }.map { ($0.keyString, $0.valueString) })
  }

  static func position(_ standby: EtcdClient) async throws -> MirrorPosition? {
    try await standby.kv.get(MirrorPosition.key).map { try MirrorPosition.decode($0.value) }
  }

  static func mirror(_ primary: EtcdClient, _ standby: EtcdClient, maxTxnOps: Int = 128) -> StandbyMirror {
    var settings = StandbyMirrorSettings()
    settings.maxTxnOps = maxTxnOps
    settings.heartbeatInterval = .milliseconds(200)
    settings.revisionMargin = 500
    return StandbyMirror(
      cluster: "a", standbyName: "b", primary: primary, standby: standby, settings: settings, metrics: BackupMetrics(),
      audit: { _ in }, logger: Logger(label: "test"))
  }

  static func whileMirroring(_ mirror: StandbyMirror, _ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await mirror.run() }
      try await body()
      group.cancelAll()
    }
  }

  /// The standby holds the primary's newest revision.
  static func caughtUp(_ primary: EtcdClient, _ standby: EtcdClient) async throws -> Bool {
    let now = try await primary.kv.range("", prefix: true, limit: 1, keysOnly: true).revision
    return try await position(standby).map { $0.state == .mirroring && $0.revision == now } ?? false
  }

  @Test func everyChangeIsCopiedAndARestartResumesExactly() async throws {
    try await withTestCluster(members: 1) { _, primary in
      try await withTestCluster(members: 1) { _, standby in
        for i in 0..<30 { try await primary.kv.put("/app/\(i)", "v\(i)") }
        let lease = try await primary.lease.grant(ttl: 120)
        try await primary.kv.put("/app/leased", "L", lease: lease.id)
        let mirror = Self.mirror(primary, standby, maxTxnOps: 16)
        var seeded: MirrorPosition?
        try await Self.whileMirroring(mirror) { () async throws in
          #expect(try await eventually { try await Self.caughtUp(primary, standby) })
          seeded = try await Self.position(standby)
          // A transaction bigger than the standby takes at once (16 operations): applied in parts.
          _ = try await primary.kv.txn([], success: (0..<40).map { EtcdOp.put("/big/\($0)", "b\($0)") })
          try await primary.kv.delete("/app/1")
          try await primary.kv.delete("/app/2")
          #expect(try await eventually { try await Self.caughtUp(primary, standby) })
          #expect(try await Self.contents(primary) == Self.contents(standby))
        }
        let first = try #require(seeded)
        #expect(first.offset >= 500)  // the standby's revisions stay ahead of the primary's
        // Stopped: writes, deletes and a delete of a whole prefix go on without it.
        for i in 30..<60 { try await primary.kv.put("/app/\(i)", "w\(i)") }
        try await primary.kv.delete("/big/", prefix: true)
        try await primary.kv.put("/app/0", "changed")
        let before = try await Self.position(standby)
        try await Self.whileMirroring(mirror) { () async throws in
          #expect(try await eventually { try await Self.caughtUp(primary, standby) })
        }
        #expect(try await Self.contents(primary) == Self.contents(standby))
        let after = try #require(try await Self.position(standby))
        // Resumed, not re-seeded: one standby revision per source revision since, no gap, no duplicate —
        // but for the two 40-change revisions (the transaction, the prefix delete), 3 parts each.
        #expect(await mirror.status.seeds == 1)
        #expect(after.offset == first.offset + 4)
        let standbyRevision = try await standby.kv.range("", prefix: true, limit: 1, keysOnly: true).revision
        #expect(standbyRevision == after.revision + after.offset)
        #expect(after.revision > before?.revision ?? 0)
        // The leased key sits on a lease of the same id on the standby, which Vigil keeps alive.
        let held = try await standby.lease.timeToLive(lease.id, keys: true)
        #expect(held.ttl > 0 && held.keys == ["/app/leased"])
        let copy = try #require(try await standby.kv.get("/app/leased"))
        #expect(copy.lease == lease.id)
      }
    }
  }

  @Test func concurrentWritersAreMirroredRevisionForRevision() async throws {
    try await withTestCluster(members: 1) { _, primary in
      try await withTestCluster(members: 1) { _, standby in
        let mirror = Self.mirror(primary, standby)
        try await Self.whileMirroring(mirror) { () async throws in
          #expect(try await eventually { try await Self.caughtUp(primary, standby) })
          let seeded = try #require(try await Self.position(standby))
          // 32 writers at once: revisions arrive faster than one transaction at a time would apply them, so
          // they go in batches, each transaction guarded by the position the one before writes.
          try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<32 {
              group.addTask {
                for i in 0..<25 {
                  try await primary.kv.put("/load/\(w)/\(i)", "\(i)")
                  if i % 5 == 4 { try await primary.kv.delete("/load/\(w)/\(i - 1)") }
                }
              }
            }
            try await group.waitForAll()
          }
          #expect(try await eventually(timeout: .seconds(60)) { try await Self.caughtUp(primary, standby) })
          #expect(try await Self.contents(primary) == Self.contents(standby))
          // One standby revision per source revision: the offset set at seeding still holds (read off the
          // position key itself: the heartbeat keeps both revisions moving between two reads).
          let stored = try #require(try await standby.kv.get(MirrorPosition.key))
          let p = try MirrorPosition.decode(stored.value)
          #expect(stored.modRevision - p.revision == seeded.offset)
        }
      }
    }
  }

  @Test func aCompactedPositionReseedsAndTheLagIsMeasured() async throws {
    try await withTestCluster(members: 1) { _, primary in
      try await withTestCluster(members: 1) { _, standby in
        for i in 0..<10 { try await primary.kv.put("/app/\(i)", "v\(i)") }
        let mirror = Self.mirror(primary, standby)
        try await Self.whileMirroring(mirror) { () async throws in
          #expect(try await eventually { try await Self.caughtUp(primary, standby) })
          // Heartbeats flow: the lag settles at zero seconds and zero revisions.
          #expect(try await eventually { let s = await mirror.status; return s.lagSeconds == 0 && s.lagRevisions == 0 })
        }
        for i in 0..<10 { try await primary.kv.put("/app/\(i)", "w\(i)") }
        try await primary.kv.delete("/app/9")
        let now = try await primary.kv.put("/app/new", "n").revision
        try await primary.kv.compact(revision: now)
        try await Self.whileMirroring(mirror) { () async throws in
          #expect(try await eventually { try await Self.caughtUp(primary, standby) })
          #expect(await mirror.status.seeds == 2)
        }
        #expect(try await Self.contents(primary) == Self.contents(standby))
      }
    }
  }

  @Test func aStandbyHoldingOtherDataIsLeftAlone() async throws {
    try await withTestCluster(members: 1) { _, primary in
      try await withTestCluster(members: 1) { _, standby in
        try await primary.kv.put("/app/x", "1")
        try await standby.kv.put("/theirs", "keep me")
        let mirror = Self.mirror(primary, standby)
        try await Self.whileMirroring(mirror) { () async throws in
          #expect(try await eventually { await mirror.status.phase == .refused })
        }
        #expect(try await standby.kv.get("/theirs")?.valueString == "keep me")
        #expect(try await standby.kv.get("/app/x") == nil)
        #expect(await mirror.status.lastError?.contains("does not overwrite") == true)
      }
    }
  }
}
