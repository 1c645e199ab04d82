import Testing
import VigilCore

@Suite("Capacity forecasts (pure)")
struct CapacityForecastTests {
  let mib: Int64 = 1 << 20
  let hour = 3600.0

  /// One sample a minute for `minutes`, ending at `now`.
  func series(minutes: Int, now: Double, db: (Double) -> Double, inUse: (Double) -> Double) -> [CapacitySample] {
    (0..<minutes).map { i in
      let t = now - Double(minutes - 1 - i) * 60
      return CapacitySample(at: t, dbSize: Int64(db(t)), inUse: Int64(inUse(t)))
    }
  }

  @Test func dataGrowingTowardTheQuotaIsForecastWithItsTime() throws {
    // 100 MiB an hour of real data, 1 GiB now, 2 GiB quota: ~10 h 14 m away.
    let now = 100 * hour
    let perSecond = Double(100 * mib) / hour
    let s = series(minutes: 240, now: now, db: { Double(1024 * self.mib) + ($0 - now) * perSecond }, inUse: {
      Double(900 * self.mib) + ($0 - now) * perSecond
    })
    let f = try #require(
      CapacityForecast.finding(cluster: "c", member: "m1", samples: s, quota: 2048 * mib, now: now, settings: ForecastSettings()))
    #expect(f.check == "quota-forecast" && f.member == "m1")
    #expect(f.severity == .warning, "10 h away is beyond the 4 h alert")
    #expect(f.summary.contains("quota reached in ~10 h 14 m at the last 4 h's growth"), "\(f.summary)")
    #expect(f.action.hasPrefix("compact old revisions"))
    #expect(!CapacityForecast.wantsDefragment(f))
    // Closer than the alert: critical.
    var tight = ForecastSettings()
    tight.alertWithin = 11 * hour
    #expect(CapacityForecast.finding(cluster: "c", member: "m1", samples: s, quota: 2048 * mib, now: now, settings: tight)?.severity == .critical)
  }

  @Test func growthThatIsFreePagesIsDefragmentedBeforeTheQuota() throws {
    // The file grows 100 MiB an hour while the data stays at 300 MiB: defragment now.
    let now = 100 * hour
    let perSecond = Double(100 * mib) / hour
    let s = series(minutes: 240, now: now, db: { Double(1500 * self.mib) + ($0 - now) * perSecond }, inUse: { _ in
      Double(300 * self.mib)
    })
    let f = try #require(
      CapacityForecast.finding(cluster: "c", member: "m1", samples: s, quota: 2048 * mib, now: now, settings: ForecastSettings()))
    #expect(f.action.hasPrefix("defragment now"), "\(f.action)")
    #expect(CapacityForecast.wantsDefragment(f))
    // Far off (beyond the act window): not yet.
    var patient = ForecastSettings()
    patient.actWithin = hour
    let later = try #require(
      CapacityForecast.finding(cluster: "c", member: "m1", samples: s, quota: 2048 * mib, now: now, settings: patient))
    #expect(later.action.hasPrefix("defragment before then"))
    #expect(!CapacityForecast.wantsDefragment(later))
  }

  @Test func flatShortOrFarOffSeriesSayNothing() {
    let now = 100 * hour
    let flat = series(minutes: 240, now: now, db: { _ in Double(1024 * self.mib) }, inUse: { _ in Double(1000 * self.mib) })
    #expect(CapacityForecast.finding(cluster: "c", member: "m1", samples: flat, quota: 2048 * mib, now: now, settings: ForecastSettings()) == nil)
    // Ten minutes of samples are too short a look at a 4 h window.
    let short = series(minutes: 10, now: now, db: { Double(1024 * self.mib) + ($0 - now) * 1000 }, inUse: { _ in 0 })
    #expect(CapacityForecast.finding(cluster: "c", member: "m1", samples: short, quota: 2048 * mib, now: now, settings: ForecastSettings()) == nil)
    // A byte an hour: years away, beyond the horizon.
    let slow = series(minutes: 240, now: now, db: { Double(1024 * self.mib) + ($0 - now) / 3600 }, inUse: { _ in 0 })
    #expect(CapacityForecast.finding(cluster: "c", member: "m1", samples: slow, quota: 2048 * mib, now: now, settings: ForecastSettings()) == nil)
  }

  @Test func leaderChurnIsARateOverTheWholeWindow() {
    let now = 10 * hour
    let changes = [now - 3.5 * hour, now - 3 * hour, now - 2 * hour, now - 1.5 * hour, now - 1 * hour, now - 0.5 * hour,
      now - 0.4 * hour, now - 0.2 * hour, now - 0.1 * hour, now - 0.05 * hour, now - 0.01 * hour, now - 0.001 * hour]
    let f = CapacityForecast.leaderChurn(cluster: "c", changes: changes, watchedSince: 0, now: now, window: 4 * hour, perHour: 3)
    #expect(f?.summary == "leader changed 12 times in the last 4 h: 3.0/h (threshold 3/h)")
    #expect(CapacityForecast.leaderChurn(cluster: "c", changes: changes, watchedSince: 0, now: now, window: 4 * hour, perHour: 4) == nil)
    // Not before the window was watched in full.
    #expect(CapacityForecast.leaderChurn(cluster: "c", changes: changes, watchedSince: now - hour, now: now, window: 4 * hour, perHour: 3) == nil)
  }

  @Test func thePlannerDefragmentsAHealthyClusterForTheForecast() throws {
    var planner = RepairPlanner()
    var view = ClusterRepairView(
      cluster: "c", tier: "P1", mode: .auto,
      members: ["m1", "m2", "m3"].map { MemberHealthView(name: $0, isLearner: false, health: .healthy, isLeader: $0 == "m1") },
      diagnoses: [], fragmented: true)
    view.defragmentReason = "quota forecast: m1's quota reached in ~3 h"
    guard case .plan(let request)? = planner.decide([view], now: 1000).first else {
      Issue.record("no plan")
      return
    }
    #expect(request.runbook == .defragment)
    #expect(request.reason == "quota forecast: m1's quota reached in ~3 h")
  }

  @Test func expiringCertificatesAreRotatedAtMostOnceAnHour() throws {
    var planner = RepairPlanner()
    var view = ClusterRepairView(
      cluster: "c", tier: "P1", mode: .auto,
      members: ["m1", "m2", "m3"].map { MemberHealthView(name: $0, isLearner: false, health: .healthy, isLeader: $0 == "m1") },
      diagnoses: [])
    view.rotateCertificates = "certificate finding: server certificate x expires in 3 days"
    guard case .plan(let request)? = planner.decide([view], now: 1000).first else {
      Issue.record("no plan")
      return
    }
    #expect(request.runbook == .rotateCertificates && request.member == nil)
    #expect(request.reason == "certificate finding: server certificate x expires in 3 days")
    #expect(planner.decide([view], now: 1000 + 1800).isEmpty, "not again within the hour")
    guard case .plan(let again)? = planner.decide([view], now: 1000 + 3700).first else {
      Issue.record("no plan after the hour")
      return
    }
    #expect(again.runbook == .rotateCertificates)
    // The steps: member by member, followers first, each verified before the next.
    let steps = Runbook.rotateCertificates.steps(member: nil, followers: ["m2", "m3"], leader: "m1")
    #expect(steps.map { "\($0.action.rawValue) \($0.member ?? "")" } == [
      "rotate-member-certificates m2", "wait-healthy m2", "verify-certificate m2", "verify-cluster ",
      "rotate-member-certificates m3", "wait-healthy m3", "verify-certificate m3", "verify-cluster ",
      "rotate-member-certificates m1", "wait-healthy m1", "verify-certificate m1", "verify-cluster ",
    ])
  }
}
