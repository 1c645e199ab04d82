import ArgumentParser
import Foundation
import VigilAPI
import VigilConfig
import VigilStore

/// `vigil audit [--cluster C]` and `vigil audit verify`: the append-only, hash-chained audit log.
struct AuditCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "audit",
    abstract: "Show the audit log (who did what, why, with what result), or verify its hash chain.",
    subcommands: [Show.self, Verify.self],
    defaultSubcommand: Show.self)

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The newest audit entries.")
    @Option(help: "Only this cluster.") var cluster: String?
    @Option(help: "At most this many.") var limit: Int = 50
    @OptionGroup var server: ServerOptions
    @OptionGroup var format: OutputOptions

    func run() async throws {
      let entries = try await server.call { api throws(APIError) in try await api.audit(cluster: cluster, limit: limit) }
      var table = Table(["SEQ", "TIME", "ACTOR", "ACTION", "SUBJECT", "PLAN", "STEP", "RESULT", "WHY"])
      for e in entries.reversed() {
        table.add([
          "\(e.seq)", IncidentsCommand.time(e.at), e.actor, e.action, e.subject ?? e.cluster,
          e.planID.map { "#\($0) \(e.runbook ?? "")" } ?? "-", e.step ?? "-", e.result, e.reason,
        ])
      }
      try format.emit(entries) { entries.isEmpty ? "the audit log is empty" : table.render() }
    }
  }

  struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Recompute every entry's hash and link, straight from the state dir (Vigil may be stopped).",
      discussion: "Exits 0 when the chain is intact, 2 when an entry was altered, removed or reordered.")
    @OptionGroup var place: StateDirOptions

    func run() async throws {
      let result = try await place.store(existing: true).verifyAudit()
      if result.ok {
        print("audit log intact: \(result.entries) entries, every hash and link matches")
      } else {
        print("audit log BROKEN at entry \(result.firstBadSeq ?? 0): \(result.problem ?? "")")
        throw ExitCode(2)
      }
    }
  }
}
