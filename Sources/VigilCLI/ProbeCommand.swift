import ArgumentParser
import Foundation
import VigilAPI
import VigilCore
import VigilMonitor

/// `vigil probe run NAME [--cluster C]`: runs a probe now through a running `vigil serve`.
struct ProbeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "probe",
    abstract: "Run probes on demand.",
    subcommands: [Run.self]
  )

  struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "run",
      abstract: "Run the probe NAME now on every target (or those of --cluster); the result also feeds the detector.",
      discussion: "Exits 0 when every run succeeded, 2 when some failed."
    )

    @Argument(help: "The probe's name (its kind unless the suite names it, e.g. etcd.kv).")
    var name: String

    @Option(help: "Only this cluster's targets.")
    var cluster: String?

    @OptionGroup var server: ServerOptions

    func run() async throws {
      let reports = try await server.call { api throws(APIError) in try await api.runProbe(name, cluster: cluster) }
      print(ProbeCommand.render(reports))
      if reports.contains(where: { !$0.ok }) { throw ExitCode(2) }
    }
  }

  static func render(_ reports: [ProbeRunReport]) -> String {
    var table = Table(["SUBJECT", "PROBE", "STATUS", "LATENCY", "STEPS", "MESSAGE"])
    for r in reports {
      let steps = r.steps.map { "\($0.name) \(ms($0.latencyMs))\($0.ok ? "" : " ✗")" }.joined(separator: ", ")
      table.add([r.subject, r.probe, r.status, ms(r.latencyMs), steps, r.message])
    }
    return table.render()
  }

  static func ms(_ v: Double) -> String { v < 10 ? String(format: "%.2f ms", v) : String(format: "%.0f ms", v) }
}

/// `vigil inspect [--cluster C]`: the directed inspections, now.
struct InspectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Run the directed inspections now (quota, alarms, hashes, learners, leader, versions, certificates…).",
    discussion: "Prints each finding with its evidence and a suggested action. Exits 0 with no critical finding, 2 otherwise."
  )

  @Option(help: "Only this cluster.")
  var cluster: String?

  @OptionGroup var server: ServerOptions

  func run() async throws {
    let found = try await server.call { api throws(APIError) in try await api.inspect(cluster: cluster) }
    var critical = false
    for name in found.keys.sorted() {
      let findings = found[name]!
      print("\(name): \(findings.isEmpty ? "no findings" : "\(findings.count) finding(s)")")
      for f in findings.sorted(by: { ($0.severity, $0.check) > ($1.severity, $1.check) }) {
        critical = critical || f.severity == .critical
        print("  \(f.severity.rawValue.uppercased())  \(f.check)\(f.member.map { " [\($0)]" } ?? "")  \(f.summary)")
        for e in f.evidence { print("      evidence: \(e)") }
        print("      action:   \(f.action)")
      }
    }
    if critical { throw ExitCode(2) }
  }
}
