import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilEngineTesting
import VigilEtcd
import VigilRuntime
import VigilMonitor
import VigilStore
import VigilTestKit

/// A monitor over a real test cluster, with fast probes (100 ms) and inspections (1 s); repair is not started.
func withMonitor(
  _ cluster: LocalCluster, extraProbes: String = "", inspections: String = "", clusterKeys: String = "",
  _ body: (Monitor) async throws -> Void
) async throws {
  let yaml = """
    tiers:
      test: {probeInterval: 100ms, probeTimeout: 1s}
    inspections:
      interval: 1s
    \(inspections)
    scheduler: {membershipInterval: 500ms}
    probeSuites:
      - name: s
        probes:
          - kind: etcd.kv
          - kind: etcd.member
    \(extraProbes)
    """
  let keys = "tier: test\n    probeSuites: [s]" + (clusterKeys.isEmpty ? "" : "\n    " + clusterKeys)
  try await withEngine([("c", cluster)], yaml: yaml, cluster: keys, startRepairs: false) {
    engine, _ in try await body(engine.monitor)
  }
}

func memberDiagnosis(_ monitor: Monitor, _ member: String) async -> Diagnosis? {
  await monitor.currentDiagnoses(cluster: "c").first { $0.member == member }
}

@Suite("Detection against real etcd", .serialized)
struct MonitorTests {
  @Test func aKilledMemberIsFailedCrashedAndItsIncidentClosesWhenItIsBack() async throws {
    try await withTestCluster { cluster, _ in
      try await withMonitor(cluster) { monitor in
        #expect(try await eventually { await monitor.health(of: "c/m2") == .healthy })
        // Every probe's start is measured against when it was due (never negative).
        let lags = monitor.metrics.probeLag.drain()
        #expect(!lags.isEmpty && lags.allSatisfy { $0 >= 0 }, "\(lags.count) samples")
        let killedAt = Date().timeIntervalSince1970
        try await cluster.kill("m2")
        #expect(try await eventually { await monitor.health(of: "c/m2") == .failed })
        #expect(try await eventually { await memberDiagnosis(monitor, "m2")?.fault == .crashed })
        let open = await monitor.openIncidents.filter { $0.subject == "c/m2" }
        #expect(open.count == 1)
        #expect(open.first?.detectedAt != nil)
        #expect(try await eventually { await monitor.openIncidents.first?.fault == .crashed })
        // The cluster itself still serves (2 of 3).
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })

        try await cluster.start("m2")
        #expect(try await eventually { await monitor.health(of: "c/m2") == .healthy })
        #expect(try await eventually { await monitor.openIncidents.isEmpty })
        // The writer stores the close a moment later.
        #expect(try await eventually { try await monitor.store.incidents(cluster: "c").first { $0.subject == "c/m2" }?.closedAt != nil })
        // One incident for the kill (a probe of the fresh cluster slow under load may have opened an earlier one).
        let stored = try await monitor.store.incidents(cluster: "c").filter { $0.subject == "c/m2" && $0.openedAt >= killedAt }
        #expect(stored.count == 1)
        let incident = try #require(stored.first)
        #expect(incident.closedAt != nil)
        #expect(incident.fault == .crashed)
        #expect(incident.mttd != nil)
        let kinds = Set(incident.timeline.map(\.kind))
        #expect(kinds.isSuperset(of: ["transition", "diagnosis", "probe-failure"]))
        let transitions = try await monitor.store.transitions(cluster: "c").filter { $0.subject == "c/m2" }.map(\.to)
        #expect(transitions.contains(.failed) && transitions.contains(.healthy))
      }
    }
  }

  @Test func aFrozenMemberIsHung() async throws {
    try await withTestCluster { cluster, _ in
      try await withMonitor(cluster) { monitor in
        #expect(try await eventually { await monitor.health(of: "c/m3") == .healthy })
        try await cluster.freeze("m3")
        #expect(try await eventually { await monitor.health(of: "c/m3") == .failed })
        #expect(try await eventually { await memberDiagnosis(monitor, "m3")?.fault == .hung })
        try await cluster.unfreeze("m3")
        #expect(try await eventually { await monitor.health(of: "c/m3") == .healthy })
      }
    }
  }

  @Test func aFullQuotaIsANoSpaceFindingAndDiagnosis() async throws {
    let quota: Int64 = 4 << 20
    try await withTestCluster(configure: { $0.quotaBackendBytes = quota }) { cluster, client in
      try await withMonitor(cluster) { monitor in
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })
        let value = String(repeating: "x", count: 64 << 10)
        var full = false
        for i in 0..<400 where !full {
          do { try await client.kv.put("/fill/\(i)", value) } catch let e as EtcdError where e.code == .noSpace { full = true }
        }
        #expect(full)
        #expect(try await eventually { await monitor.currentDiagnoses(cluster: "c").contains { $0.fault == .noSpace } })
        let findings = await monitor.inspect(cluster: "c")
        #expect(findings.contains { $0.check == "alarm" && $0.summary.contains("NOSPACE") && $0.severity == .critical })
        #expect(findings.contains { $0.check == "quota" })
        // Writes are refused, so the cluster-level KV probe fails too.
        #expect(try await eventually { await monitor.health(of: "c") == .failed })
      }
    }
  }

  @Test func aLearnerLeftUnpromotedIsAFinding() async throws {
    try await withTestCluster { cluster, client in
      try await withMonitor(cluster, inspections: "  learnerGrace: 1s") { monitor in
        let m4 = try await cluster.prepareMember(name: "m4")
        let added = try await retrying { try await client.cluster.add(peerURLs: [m4.peerURL], learner: true) }
        let initial = added.members.map { m in (name: m.id == added.member.id ? "m4" : m.name, peerURL: m.peerURLs[0]) }
        try await cluster.startJoining("m4", initialCluster: initial)
        #expect(
          try await eventually {
            await monitor.inspect(cluster: "c").contains { $0.check == "learner-unpromoted" && $0.member == "m4" }
          })
        // Its status is probed; nothing is wrong with it otherwise.
        #expect(try await eventually { await monitor.health(of: "c/m4") == .healthy })
        // An even number of voters is not reported: the learner does not vote.
        #expect(!(await monitor.inspect(cluster: "c").contains { $0.check == "member-count" }))
      }
    }
  }

  @Test func aMemberRestartedWithAWipedDataDirIsDataLoss() async throws {
    try await withTestCluster { cluster, client in
      for i in 0..<50 { try await client.kv.put("/data/\(i)", "v") }
      try await withMonitor(cluster) { monitor in
        #expect(try await eventually { await monitor.health(of: "c/m2") == .healthy })
        try await cluster.kill("m2")
        try await cluster.wipe("m2")
        #expect(try await eventually { await memberDiagnosis(monitor, "m2")?.fault == .dataLoss })
        // Back with an empty data dir: etcd refuses to serve it or it comes back with a lost log.
        try? await cluster.start("m2", waitHealthy: false)
        #expect(
          try await eventually {
            let d = await memberDiagnosis(monitor, "m2")
            return d?.fault == .dataLoss || d?.fault == .crashed
          })
        let incident = try #require(await monitor.openIncidents.first { $0.subject == "c/m2" })
        #expect(incident.timeline.contains { $0.kind == "diagnosis" && $0.text.hasPrefix("data loss") })
      }
    }
  }
}

/// Membership changes right after start can meet "unhealthy cluster"; retry briefly.
func retrying<T>(_ body: () async throws -> T) async throws -> T {
  var lastError: (any Error)?
  for _ in 0..<50 {
    do { return try await body() } catch {
      lastError = error
      try await Task.sleep(for: .milliseconds(200))
    }
  }
  throw lastError!
}
