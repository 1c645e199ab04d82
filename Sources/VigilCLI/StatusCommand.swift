import ArgumentParser
import Foundation
import VigilAPI
import VigilCore
import VigilEtcd
import VigilMonitor

/// `vigil status`: from a running `vigil serve` (`--server`/`--config`): each
/// cluster's and member's health, diagnoses and open incidents; or straight
/// from etcd (`--endpoints`): one row per member.
struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show health and open incidents (from vigil serve), or each member's raw status (from etcd).",
    discussion: """
      With --server or --config: exits 0 when every cluster and member is healthy, 2 otherwise.
      With --endpoints: exits 0 when every endpoint answered, 2 when some did not, 1 when none did.
      """
  )

  @OptionGroup var server: ServerOptions
  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var format: OutputOptions

  func run() async throws {
    if server.isGiven {
      let status = try await server.call { api throws(APIError) in try await api.status() }
      try format.emit(status) { Self.render(status) }
      let healthy = status.clusters.allSatisfy { c in c.health == .healthy && c.members.allSatisfy { $0.health == .healthy } }
      if !healthy { throw ExitCode(2) }
      return
    }
    let client = try connection.makeClient()
    let rows = await StatusReport.gather(client: client)
    await client.shutdown()
    let failed = rows.filter { $0.status == nil }
    if failed.count == rows.count {
      let reasons = failed.map { "\($0.endpoint): \($0.error ?? "no answer")" }.joined(separator: "; ")
      throw CLIError(rows.count == 1 ? "etcd \(reasons)" : "no member answered: \(reasons)")
    }
    print(StatusReport.render(rows))
    if !failed.isEmpty { throw ExitCode(2) }
  }

  static func render(_ status: MonitorStatus) -> String {
    var out: [String] = []
    for c in status.clusters {
      out.append("cluster \(c.name) (\(c.tier)): \(c.health.rawValue)")
      var members = Table(["MEMBER", "ID", "ENDPOINT", "LEARNER", "HEALTH", "DIAGNOSIS"])
      for m in c.members {
        members.add([m.name, m.id, m.endpoint ?? "-", m.learner ? "yes" : "no", m.health.rawValue, m.diagnosis ?? "-"])
      }
      out.append(members.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
      for d in c.diagnoses where d.member == nil { out.append("  diagnosis: \(d.fault.rawValue): \(d.reason)") }
      if let s = c.standby {
        out.append(
          "  active \(s.active), standby \(s.standby): \(s.phase.rawValue), lag \(s.lagRevisions) revision(s) / "
            + String(format: "%.2f s", s.lagSeconds) + " (applied \(s.appliedRevision) of \(s.primaryRevision))"
            + (s.lastError.map { "; last error: \($0)" } ?? ""))
      }
      if c.openIncidents.isEmpty {
        out.append("  open incidents: none")
      } else {
        var incidents = Table(["INCIDENT", "SUBJECT", "OPENED", "STATE", "FAULT", "MTTD"])
        for i in c.openIncidents {
          incidents.add([
            "#\(i.id)", i.subject, timestamp(i.openedAt), i.worst.rawValue, i.fault?.rawValue ?? "-",
            i.mttd.map { String(format: "%.2f s", $0) } ?? "-",
          ])
        }
        out.append("  open incidents:")
        out.append(incidents.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
      }
      let critical = c.findings.filter { $0.severity == .critical }.count
      out.append("  findings: \(c.findings.count) (\(critical) critical)" + (c.findings.isEmpty ? "" : "; see vigil inspect"))
    }
    return out.joined(separator: "\n")
  }

  static func timestamp(_ t: Double) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: t)) + "Z"
  }
}
