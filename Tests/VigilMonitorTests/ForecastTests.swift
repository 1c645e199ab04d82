import Foundation
import Testing
import VigilCore
import VigilEtcd
import VigilRuntime
import VigilTestKit

@testable import VigilMonitor

@Suite("Forecasts against real etcd", .serialized)
struct ForecastTests {
  /// A cluster filled at a steady pace: a few seconds into the fill the forecast names the quota's breach, critical
  /// (closer than the alert window), and the time it gives is borne out when etcd refuses writes with NOSPACE.
  @Test func aClusterFillingAtASteadyRateIsForecastToReachItsQuotaWhenItDoes() async throws {
    let quota: Int64 = 32 << 20
    try await withTestCluster(configure: { $0.quotaBackendBytes = quota }) { cluster, client in
      try await withMonitor(cluster, inspections: "  trendWindow: 20s\n  trendAlertWithin: 10m") { monitor in
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })
        let value = String(repeating: "v", count: 60_000)
        let start = Date().timeIntervalSince1970
        var forecast: (made: Double, eta: Double, finding: Finding)?
        var breachedAt: Double?
        var i = 0
        let paced = ContinuousClock.now
        while breachedAt == nil, Date().timeIntervalSince1970 - start < 180 {
          do { try await client.kv.put("/fill/\(i)", value) } catch let e as EtcdError where e.code == .noSpace {
            breachedAt = Date().timeIntervalSince1970
          }
          i += 1
          // Steady: write i is due 40 ms after write i - 1 was, whatever each put took.
          try await Task.sleep(until: paced + .milliseconds(40) * i, clock: .continuous)
          let now = Date().timeIntervalSince1970
          if forecast == nil, now - start > 10,
            let f = await monitor.watch.findings["c"]?.first(where: { $0.check == "quota-forecast" }),
            let member = f.member, let samples = await monitor.watch.capacity["c"]?[member],
            let course = CapacityForecast.course(samples, quota: quota, now: now, settings: await monitor.forecastSettings)
          {
            forecast = (now, course.eta, f)
          }
        }
        let made = try #require(forecast, "no forecast before the quota was reached")
        let breached = try #require(breachedAt, "the quota was never reached")
        #expect(made.finding.severity == .critical)
        #expect(made.finding.summary.contains("quota reached in ~"), "\(made.finding.summary)")
        #expect(made.finding.summary.contains("at the last 20 s's growth"), "\(made.finding.summary)")
        // Forecast breach against the real one: within half the remaining time (and a few seconds of inspection
        // cadence).
        let remaining = breached - made.made
        let error = abs(made.made + made.eta - breached)
        #expect(error <= remaining / 2 + 3, "forecast \(made.eta) s ahead, reached after \(remaining) s")
        print("forecast: quota in \(Int(made.eta)) s, reached after \(Int(remaining)) s")
      }
    }
  }
}

@Suite("Configuration drift against real etcd", .serialized)
struct DriftLiveTests {
  /// Members started with `--snapshot-count 5000` under a spec declaring 10000: a drift finding a member, with the
  /// diff, in the inspection and in the status `/status` serves; a spec that matches finds none.
  @Test func membersRunningOtherFlagsThanDeclaredAreDriftWithADiff() async throws {
    try await withTestCluster(configure: { $0.extraArguments = ["--snapshot-count", "5000"] }) { cluster, _ in
      let spec = #"spec: {members: 3, version: "3.4", clientTLS: false, peerTLS: false, flags: {snapshot-count: 10000, heartbeat-interval: 100}}"#
      try await withMonitor(cluster, clusterKeys: spec) { (monitor: Monitor) async throws in
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })
        let drift = await monitor.inspect(cluster: "c").filter { $0.check == "drift" }
        #expect(drift.compactMap(\.member) == ["m1", "m2", "m3"])
        for f in drift {
          #expect(f.evidence == ["- --snapshot-count: 10000 (declared)", "+ --snapshot-count: 5000 (\(f.member!))"])
          #expect(f.severity == .warning)
        }
        let status = await monitor.status()
        #expect(status.clusters.first?.findings.filter { $0.check == "drift" }.count == 3)
      }
      let matching = #"spec: {members: 3, version: "3.4", flags: {snapshot-count: 5000, quota-backend-bytes: 0}}"#
      try await withMonitor(cluster, clusterKeys: matching) { (monitor: Monitor) async throws in
        #expect(try await eventually { await monitor.health(of: "c") == .healthy })
        #expect(await monitor.inspect(cluster: "c").filter { $0.check == "drift" }.isEmpty)
      }
    }
  }
}

@Suite("Disk check against real etcd", .serialized)
struct DiskCheckTests {
  static let probe = "      - {kind: etcd.perf, duration: 2s, writesPerSecond: 50, clients: 4}"

  /// On demand on a healthy cluster: 100 paced writes measured, judged, and cleaned up; a leader frozen for 0.8 s
  /// in the middle of a check makes it miss etcd's 500 ms bar (WARNING, not a failure); a cluster in trouble is
  /// never checked.
  @Test func theDiskCheckMeasuresJudgesAndStaysOffAClusterInTrouble() async throws {
    try await withTestCluster { cluster, client in
      try await withMonitor(cluster, extraProbes: Self.probe) { (monitor: Monitor) async throws in
        #expect(try await eventually { await monitor.trouble("c") == nil })
        let report = try #require(await monitor.runProbe(name: "etcd.perf", cluster: "c").first)
        #expect(report.subject == "c")
        #expect(report.metrics["writes"] == 100 && report.metrics["failed"] == 0, "\(report)")
        #expect(report.status == "OK" || report.status == "WARNING", "\(report)")
        #expect(report.message.contains("100 writes in"), "\(report.message)")
        print("disk check: \(report.message)")
        #expect(try await client.kv.range("/vigil/perf/", prefix: true).count == 0, "the check's keys are deleted")

        // A stall in the middle of a check.
        let leader = try await leaderName(cluster, client)
        async let stalled = monitor.runProbe(name: "etcd.perf", cluster: "c")
        try await Task.sleep(for: .milliseconds(700))
        try await cluster.freeze(leader)
        try await Task.sleep(for: .milliseconds(800))
        try await cluster.unfreeze(leader)
        let slow = try #require(await stalled.first)
        #expect(slow.status == "WARNING" && slow.ok, "\(slow)")
        #expect(slow.message.contains("slowest write took"), "\(slow.message)")
        let finding = try #require(await monitor.inspect(cluster: "c").first { $0.check == "disk-perf" })
        #expect(finding.summary.contains("FAIL"))

        // In trouble: not run.
        #expect(try await eventually { await monitor.trouble("c") == nil })
        try await cluster.freeze("m3")
        #expect(try await eventually { await monitor.health(of: "c/m3") == .failed })
        let refused = try #require(await monitor.runProbe(name: "etcd.perf", cluster: "c").first)
        #expect(!refused.ok && refused.status == "UNKNOWN")
        // Why: m3 failed (or, when a cluster-level probe went through m3 meanwhile, the whole cluster did).
        #expect(
          refused.message.hasPrefix("not run: member m3 is failed") || refused.message.hasPrefix("not run: cluster c is"),
          "\(refused.message)")
        #expect(refused.message.hasSuffix("the disk check never adds load to a cluster in trouble"))
        try await cluster.unfreeze("m3")
      }
    }
  }

  func leaderName(_ cluster: LocalCluster, _ client: EtcdClient) async throws -> String {
    let status = try await client.maintenance.status()
    return try #require(try await client.cluster.list().first { $0.id == status.leader }?.name)
  }
}
