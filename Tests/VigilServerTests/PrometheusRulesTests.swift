import Foundation
import Testing
import VigilAPI
import VigilConfig
import VigilCore
import VigilMonitor
import VigilRuntime
import VigilServer
import VigilTestKit

/// The shipped rules in a real Prometheus (Debian's `prometheus`, started on loopback) scraping a live
/// `vigil serve`: a member killed where policy says a person must act fires `VigilEscalated` for that cluster.
@Suite("Prometheus rules against a real Prometheus", .serialized)
struct PrometheusRulesTests {
  @Test func anEscalationFiresVigilEscalatedInARealPrometheus() async throws {
    try await withTestCluster { cluster, _ in
      try await withTemporaryDirectory { dir in
        let config = try await LiveServe.configuration(
          cluster, dir: dir,
          extra: """
            repair:
              policy:
                crashed: {runbook: none}
            """)
        try await LiveServe.run(config) { url, monitor in
          let target = url.replacingOccurrences(of: "http://", with: "")
          let port = try FreePort.pick(count: 1)[0]
          try """
          global: {scrape_interval: 1s, evaluation_interval: 1s}
          rule_files: [\(repositoryRoot())/contrib/prometheus/vigil-rules.yaml]
          scrape_configs:
            - job_name: vigil
              static_configs: [{targets: ["\(target)"]}]
          """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
          try await ExternalServer.with(
            "prometheus", program: "/usr/bin/prometheus",
            arguments: [
              "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/prometheus",
              "--web.listen-address=127.0.0.1:\(port)",
            ],
            url: "http://127.0.0.1:\(port)", ready: "/-/ready", dir: dir
          ) { prometheus in
            // Scraped, and nothing firing for the healthy cluster but what needs time (none here).
            #expect(
              try await eventually(timeout: .seconds(60)) {
                try await prometheus.get("/api/v1/query?query=up%7Bjob%3D%22vigil%22%7D").body.contains("\"1\"")
              }, "\(prometheus.tail())")
            #expect(!(try await prometheus.get("/api/v1/alerts").body.contains("VigilEscalated")))
            try await cluster.kill("m2")
            #expect(try await eventually { (try? await monitor.store.audit(cluster: "c", limit: 20))?.contains { $0.action == "escalated" } == true })
            var alerts = ""
            let fired = try await eventually(timeout: .seconds(60)) {
              alerts = try await prometheus.get("/api/v1/alerts").body
              return alerts.contains("\"alertname\":\"VigilEscalated\"") && alerts.contains("\"state\":\"firing\"")
            }
            #expect(fired, "\(alerts)")
            #expect(alerts.contains("\"cluster\":\"c\"") && alerts.contains("\"runbook_url\":\"README.md#prometheus-alert-rules\""))
          }
        }
      }
    }
  }
}
