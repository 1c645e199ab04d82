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
        while breachedAt == nil, Date().timeIntervalSince1970 - start < 180 {
          do { try await client.kv.put("/fill/\(i)", value) } catch let e as EtcdError where e.code == .noSpace {
            breachedAt = Date().timeIntervalSince1970
          }
          i += 1
          try await Task.sleep(for: .milliseconds(40))
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
