import ArgumentParser
import Foundation
import VigilAPI
import VigilCore

/// `vigil incidents [--open] [--cluster C] [--id N]`: incidents with MTTD, MTTR and (for one) the timeline.
struct IncidentsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "incidents",
    abstract: "List incidents with their fault, MTTD and MTTR; --id shows one with its whole timeline.")

  @Flag(help: "Only open incidents.") var open = false
  @Option(help: "Only this cluster.") var cluster: String?
  @Option(help: "Show this incident's timeline.") var id: Int64?
  @Option(help: "At most this many.") var limit: Int = 20
  @OptionGroup var server: ServerOptions
  @OptionGroup var format: OutputOptions

  func run() async throws {
    if let id {
      let incident = try await server.call { api throws(APIError) in try await api.incident(id: id) }
      if format.json { return try format.emit(incident) { "" } }
      print(Self.summary(incident))
      for e in incident.timeline {
        print("  \(Self.time(e.at))  \(e.kind.padding(toLength: 13, withPad: " ", startingAt: 0)) \(e.text)")
      }
      return
    }
    let incidents = try await server.call { api throws(APIError) in
      try await api.incidents(openOnly: open, cluster: cluster, limit: limit)
    }
    var table = Table(["ID", "SUBJECT", "STATE", "FAULT", "OPENED", "MTTD", "MTTR", "WORST"])
    for i in incidents {
      table.add([
        "\(i.id)", i.subject, i.isOpen ? "open" : "closed", i.fault?.rawValue ?? "-", Self.time(i.openedAt),
        Self.seconds(i.mttd), Self.seconds(i.mttr), i.worst.rawValue,
      ])
    }
    try format.emit(incidents) { incidents.isEmpty ? "no incidents" : table.render() }
  }

  static func summary(_ i: Incident) -> String {
    "incident #\(i.id) \(i.subject) \(i.isOpen ? "open" : "closed"): \(i.fault?.rawValue ?? "no diagnosis")"
      + "\(i.diagnosis.map { " (\($0))" } ?? ""), MTTD \(seconds(i.mttd)), MTTR \(seconds(i.mttr))"
  }

  static func seconds(_ v: Double?) -> String { v.map { String(format: "%.2f s", $0) } ?? "-" }

  static func time(_ at: Double) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: at))
  }
}
