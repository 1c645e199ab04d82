import Foundation
import Synchronization
import Testing
import VigilAPI
import VigilConfig
import VigilCore
import VigilRuntime
import VigilMonitor
import VigilProbes
import VigilServer
import VigilTestKit

/// `vigil serve` in this process, guarding a real cluster, with systemd's
/// notify socket played by the test: a loop held on purpose turns `/healthz`
/// 503 and stops `WATCHDOG=1`; past `watchdog.stallAfter` the watchdog gives up.
@Suite("vigil serve watches itself", .serialized)
struct ServeLivenessTests {
  func configuration(_ cluster: LocalCluster, dir: String, watchdog: String) async throws -> VigilConfiguration {
    try await LiveServe.configuration(cluster, dir: dir, probeInterval: "100ms", probeTimeout: "300ms", extra: "watchdog: \(watchdog)")
  }

  func get(_ url: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> (status: Int, body: String) {
    let answer = try await LiveServe.send(.GET, url, sourceLocation: sourceLocation)
    return (answer.status, answer.body)
  }

  @Test func aStalledLoopTurnsHealthzUnavailableAndWithholdsTheWatchdogKeepAlive() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let notify = try NotifySocket(path: dir + "/notify")
        defer { notify.close() }
        let config = try await configuration(
          cluster, dir: dir, watchdog: "{stallPeriods: 3, minimumStall: 1s, stallAfter: off}")
        let supervision = ServeSupervision(
          notifier: SystemdNotifier(socketPath: notify.path, watchdogTimeout: .milliseconds(600)))
        try await LiveServe.run(config, supervision: supervision) { (url: String, monitor: Monitor) async throws in
          #expect(try await eventually { notify.messages(containing: "READY=1").count == 1 })
          #expect(try await eventually { try await get(url + "/readyz").status == 200 })
          // Every loop turning (on a loaded machine a probe timing out can hold its loop a moment first).
          var healthy = try await get(url + "/healthz")
          #expect(
            try await eventually {
              healthy = try await get(url + "/healthz")
              return healthy.status == 200 && healthy.body.contains("\"status\" : \"ok\"")
            }, "\(healthy.body)")
          #expect(try await eventually { notify.messages(containing: "WATCHDOG=1").count >= 3 })
          // READY=1 came before any keep-alive.
          #expect(notify.messages.first { $0.text.contains("=1") }?.text.contains("READY=1") == true)
          let metrics = try await get(url + "/metrics").body
          #expect(metrics.contains("vigil_loop_last_turn_timestamp_seconds{loop=\"probe:c|etcd.kv\"}"))
          #expect(metrics.contains("vigil_loop_last_turn_timestamp_seconds{loop=\"history-writer\"}"))
          #expect(metrics.contains("vigil_loop_last_turn_timestamp_seconds{loop=\"repair\"}"))

          // The cluster-wide KV probe's loop stops at its next turn, for real.
          monitor.liveness.hold(prefix: "probe:c|")
          #expect(try await eventually { try await get(url + "/healthz").status == 503 })
          let stalled = try await get(url + "/healthz").body
          #expect(stalled.contains("\"status\" : \"stalled\"") && stalled.contains("probe:c|etcd.kv"), "\(stalled)")
          #expect(!stalled.contains("probe:c/m1"), "only the held loop is stalled: \(stalled)")
          #expect(try await get(url + "/metrics").body.contains("vigil_stalled_loops 1"))
          // No keep-alive while it stays stalled (systemd would restart Vigil after WatchdogSec).
          let before = notify.messages(containing: "WATCHDOG=1").count
          try await Task.sleep(for: .seconds(2))
          #expect(notify.messages(containing: "WATCHDOG=1").count == before)

          monitor.liveness.release()
          #expect(try await eventually { try await get(url + "/healthz").status == 200 })
          #expect(try await eventually { notify.messages(containing: "WATCHDOG=1").count > before })
        }
        #expect(try await eventually { notify.messages(containing: "STOPPING=1").count == 1 })
      }
    }
  }

  @Test func theInternalWatchdogGivesUpOnLoopsStalledPastStallAfter() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let config = try await configuration(
          cluster, dir: dir, watchdog: "{stallPeriods: 2, minimumStall: 1s, stallAfter: 1s}")
        let gaveUp = GaveUp()
        let supervision = ServeSupervision(notifier: nil) { stalled in
          gaveUp.loops.withLock { $0.append(contentsOf: stalled.map(\.loop)) }
        }
        try await LiveServe.run(config, supervision: supervision) { (url: String, monitor: Monitor) async throws in
          #expect(try await eventually { try await get(url + "/healthz").status == 200 })
          #expect(gaveUp.names.isEmpty)
          monitor.liveness.hold(prefix: "probe:c|")
          #expect(try await eventually { !gaveUp.names.isEmpty })
          #expect(gaveUp.names == ["probe:c|etcd.kv"])
          monitor.liveness.release()
        }
      }
    }
  }

  @Test func theAPIClientReadsWhatTheServerServesAndNamesWhatItRefuses() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let config = try await configuration(cluster, dir: dir, watchdog: "{stallAfter: off}")
        try await LiveServe.run(config, supervision: ServeSupervision(notifier: nil)) { (url: String, _: Monitor) async throws in
          let api = APIClient(baseURL: url + "/")
          #expect(try await eventually { try await api.status().clusters.first?.health == .healthy })
          let status = try await api.status()
          #expect(status.clusters.map(\.name) == ["c"])
          #expect(status.clusters[0].members.map(\.name) == ["m1", "m2", "m3"])
          let reports = try await api.runProbe("etcd.kv", cluster: "c")
          #expect(!reports.isEmpty && reports.allSatisfy { $0.ok && $0.probe == "etcd.kv" }, "\(reports)")
          // None open (one a loaded machine's slow probe opened closes once the probes answer again).
          #expect(try await eventually { try await api.incidents(openOnly: true, cluster: "c").isEmpty })
          // Refusals carry the server's words and status.
          do throws(APIError) {
            _ = try await api.incident(id: 999_999)
            Issue.record("a missing incident was found")
          } catch {
            #expect(error.kind == .rejected(status: 404), "\(error)")
          }
          do throws(APIError) {
            _ = try await api.runProbe("no-such-probe")
            Issue.record("an unknown probe ran")
          } catch {
            #expect(error.kind == .rejected(status: 400) || error.kind == .rejected(status: 404), "\(error)")
            #expect(error.message.contains("no-such-probe"), "\(error.message)")
          }
        }
        // Nothing listens any more.
        do throws(APIError) {
          _ = try await APIClient(baseURL: "http://127.0.0.1:1").status()
          Issue.record("port 1 answered")
        } catch {
          #expect(error.kind == .unreachable, "\(error)")
        }
      }
    }
  }

  @Test func notifySettingsAreReadFromTheEnvironmentAndBadOnesNamed() throws {
    #expect(try SystemdNotifier.fromEnvironment([:]) == nil)
    let plain = try SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": "/run/systemd/notify"])
    #expect(plain == SystemdNotifier(socketPath: "/run/systemd/notify", watchdogTimeout: nil))
    let watched = try SystemdNotifier.fromEnvironment(
      ["NOTIFY_SOCKET": "@vigil", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"], pid: 42)
    #expect(watched?.watchdogTimeout == .seconds(30))
    #expect(watched?.watchdogInterval == .seconds(15))
    // The watchdog is meant for another process.
    let other = try SystemdNotifier.fromEnvironment(
      ["NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"], pid: 42)
    #expect(other?.watchdogTimeout == nil)
    #expect(throws: SystemdNotifier.SettingError.self) { try SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": "run/n"]) }
    do {
      _ = try SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "soon"])
      Issue.record("WATCHDOG_USEC=soon was accepted")
    } catch {
      #expect(error.description.contains("WATCHDOG_USEC") && error.description.contains("\"soon\""))
    }
  }

  @Test func aNotificationReachesTheSocket() async throws {
    try await withTemporaryDirectory { dir in
      let socket = try NotifySocket(path: dir + "/n")
      defer { socket.close() }
      let notifier = SystemdNotifier(socketPath: socket.path)
      #expect(notifier.send("READY=1\nSTATUS=guarding") == nil)
      #expect(try await eventually { socket.messages(containing: "STATUS=guarding").count == 1 })
      #expect(SystemdNotifier(socketPath: dir + "/nobody-listens").send("READY=1") != nil)
    }
  }
}

private final class GaveUp: Sendable {
  let loops = Mutex<[String]>([])
  var names: [String] { loops.withLock { $0 } }
}
