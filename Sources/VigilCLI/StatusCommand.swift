import ArgumentParser
import VigilEtcd

/// `vigil status`: one row per member.
struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show each member's role, raft term and index, DB size, alarms and version.",
    discussion: "Exits 0 when every endpoint answered, 2 when some did not, 1 when none did."
  )

  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
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
}
