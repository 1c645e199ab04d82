import Crypto
import Foundation
import Hummingbird
import Synchronization
import Testing
import VigilAPI
import VigilConfig
import VigilCore
import VigilMonitor
import VigilRuntime
import VigilServer
import VigilTestKit

/// Alerts end to end: a live `vigil serve` guarding a real cluster, a real Alertmanager (Debian's
/// `prometheus-alertmanager`, on loopback) routing to a webhook receiver the test runs, and Vigil's own
/// HMAC-signed webhook to the same receiver. Quorum lost (two of three members killed, repairs waiting for
/// approval) → a firing alert naming the incident; the members back → the resolve.
@Suite("Alerts to a real Alertmanager", .serialized)
struct AlertDeliveryTests {
  /// What the test's receiver got: the path and the body, with the signature header.
  final class Inbox: Sendable {
    let posts = Mutex<[(path: String, body: String, signature: String?, accepted: Bool)]>([])
    /// The bodies accepted at `path`.
    func bodies(_ path: String) -> [String] { posts.withLock { $0.filter { $0.path == path && $0.accepted }.map(\.body) } }
    func refused(_ path: String) -> Int { posts.withLock { $0.filter { $0.path == path && !$0.accepted }.count } }

    /// Whether Alertmanager posted `alertname` with that status (each alert has its own status in a group).
    func alertmanagerPosted(_ alertname: String, status: String, incident: Int64? = nil) -> Bool {
      bodies("/am").contains { body in
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
          let alerts = object["alerts"] as? [[String: Any]]
        else { return false }
        return alerts.contains { a in
          let labels = a["labels"] as? [String: String] ?? [:]
          return a["status"] as? String == status && labels["alertname"] == alertname
            && (incident.map { labels["incident"] == String($0) } ?? true)
        }
      }
    }
  }

  /// A webhook receiver on loopback until `body` returns.
  func withReceiver(_ body: (_ url: String, _ inbox: Inbox) async throws -> Void) async throws {
    let inbox = Inbox()
    let router = Router()
    router.post("/:hook") { request, context in
      let buffer = try await request.body.collect(upTo: 1 << 20)
      let path = "/" + (context.parameters.get("hook") ?? "")
      // `/flaky` refuses its first two posts: what a receiver did not take is sent again.
      let accepted = path != "/flaky" || inbox.refused(path) >= 2
      inbox.posts.withLock { $0.append((path, String(buffer: buffer), request.headers[.init("X-Vigil-Signature")!], accepted)) }
      return Response(status: accepted ? .ok : .badRequest)
    }
    let (ready, port) = AsyncStream<Int>.makeStream()
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
      onServerRunning: { channel in port.yield(channel.localAddress?.port ?? 0) })
    let running = Task { try await app.runService() }
    var it = ready.makeAsyncIterator()
    guard let p = await it.next() else { throw TestTimeout("the test receiver did not start") }
    do { try await body("http://127.0.0.1:\(p)", inbox) } catch {
      running.cancel()
      _ = await running.result
      throw error
    }
    running.cancel()
    _ = await running.result
  }

  @Test func quorumLostFiresThroughAlertmanagerAndResolvesWhenTheMembersAreBack() async throws {
    setenv("VIGIL_TEST_ALERT_SECRET", "s3cret", 1)
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        try await withReceiver { receiver, inbox in
          let amPort = try FreePort.pick(count: 1)[0]
          try """
          route: {receiver: test, group_by: [cluster], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
          receivers:
            - name: test
              webhook_configs: [{url: "\(receiver)/am", send_resolved: true}]
          """.write(toFile: dir + "/alertmanager.yml", atomically: true, encoding: .utf8)
          try await ExternalServer.with(
            "alertmanager", program: "/usr/bin/prometheus-alertmanager",
            arguments: [
              "--config.file=\(dir)/alertmanager.yml", "--storage.path=\(dir)/alertmanager",
              "--web.listen-address=127.0.0.1:\(amPort)", "--cluster.listen-address=",
            ],
            url: "http://127.0.0.1:\(amPort)", ready: "/-/ready", dir: dir
          ) { alertmanager in
            let config = try await LiveServe.configuration(
              cluster, dir: dir,
              extra: """
                repair: {mode: approve}
                alerts:
                  resendInterval: 2s
                  dashboardURL: "http://127.0.0.1/dashboard/{cluster}/incidents/{incident}"
                  receivers:
                    - {kind: alertmanager, url: "\(alertmanager.url)"}
                    - {kind: webhook, url: "\(receiver)/direct", secretEnv: VIGIL_TEST_ALERT_SECRET}
                    - {kind: webhook, url: "\(receiver)/flaky"}
                """)
            try await LiveServe.run(config) { _, monitor in
              #expect(try await eventually(timeout: .seconds(60)) { await monitor.health(of: "c") == .healthy })
              try await cluster.kill(["m1", "m2"])
              // The incident Vigil opened for the cluster, and the firing alert that names it.
              var incident: Int64?
              #expect(
                try await eventually(timeout: .seconds(60)) {
                  incident = try await monitor.store.incidents(openOnly: true, cluster: "c", limit: 20).first { $0.member == nil }?.id
                  return incident != nil
                })
              let id = try #require(incident)
              #expect(
                try await eventually(timeout: .seconds(60)) {
                  inbox.alertmanagerPosted("VigilQuorumLost", status: "firing", incident: id)
                }, "\(inbox.bodies("/am")) \(alertmanager.tail())")
              let firing = inbox.bodies("/am").first { $0.contains("VigilQuorumLost") } ?? ""
              #expect(firing.contains("\"cluster\":\"c\"") && firing.contains("dashboard/c/incidents/\(id)"))
              // The members back: the incident closes and the resolve arrives.
              try await cluster.start("m1")
              try await cluster.start("m2")
              let resolved = try await eventually(timeout: .seconds(90)) {
                inbox.alertmanagerPosted("VigilQuorumLost", status: "resolved")
              }
              if !resolved {
                let diagnoses = await monitor.status().clusters.map(\.diagnoses)
                let audit = try await monitor.store.audit(cluster: "c", limit: 20).map { "\($0.action) \($0.result)" }
                Issue.record("no resolve from Alertmanager: \(inbox.bodies("/am").suffix(2)) \(diagnoses) \(audit)")
              }
              // Vigil's own webhook: the same alerts, signed with the secret (sent after Alertmanager's, in the same
              // turn: Alertmanager may pass its resolve on first).
              #expect(
                try await eventually(timeout: .seconds(30)) {
                  inbox.bodies("/direct").contains { $0.contains("\"status\":\"resolved\"") && $0.contains("VigilQuorumLost") }
                }, "\(inbox.bodies("/direct"))")
              let direct = inbox.posts.withLock { $0.filter { $0.path == "/direct" } }
              #expect(direct.contains { $0.body.contains("\"status\":\"firing\"") && $0.body.contains("VigilQuorumLost") })
              // The receiver that refused its first two posts got those alerts all the same, at a later turn.
              func keys(_ body: String) -> Set<String> {
                let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                return Set((object?["alerts"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String })
              }
              let refused = keys(inbox.posts.withLock { $0.first { $0.path == "/flaky" && !$0.accepted }?.body } ?? "")
              #expect(!refused.isEmpty)
              #expect(
                try await eventually(timeout: .seconds(30)) {
                  refused.isSubset(of: inbox.bodies("/flaky").reduce(into: Set<String>()) { $0.formUnion(keys($1)) })
                }, "\(refused) \(inbox.bodies("/flaky"))")
              for post in direct {
                let expected = HMAC<SHA256>.authenticationCode(
                  for: Data(post.body.utf8), using: SymmetricKey(data: Data("s3cret".utf8))
                ).map { String(format: "%02x", $0) }.joined()
                #expect(post.signature == "sha256=" + expected)
              }
              // Every delivery is in the audit.
              let audit = try await monitor.store.audit(cluster: "c", limit: 200)
              #expect(audit.contains { $0.action == "alert-sent" && $0.inputs.hasPrefix("alertmanager") })
              #expect(audit.contains { $0.action == "alert-sent" && $0.inputs.hasPrefix("webhook") })
              #expect(audit.contains { $0.action == "alert-failed" && $0.reason.contains("HTTP 400") })
            }
          }
        }
      }
    }
  }
}
