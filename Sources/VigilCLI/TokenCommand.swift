import ArgumentParser
import Foundation
import VigilAPI
import VigilConfig
import VigilCore
import VigilServer
import VigilStore

/// `vigil token create|list|revoke`: API tokens, straight in Vigil's state dir (Vigil may run or not; a token
/// counts at its next request).
struct TokenCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "token",
    abstract: "Make, list and revoke the API's bearer tokens (roles: viewer, operator, admin, ci).",
    discussion: """
      A token is printed once, when it is made; Vigil keeps only its SHA-256. Roles: viewer reads; operator also \
      runs probes and inspections, approves and rejects plans, pauses and resumes repair; admin also runs \
      repairs by hand, fails over and manages tokens; ci may only ask the release gate.
      """,
    subcommands: [Create.self, List.self, Revoke.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make a token and print it (the only time it is shown).")
    @Option(help: "Who or what uses it (audit entries name it).") var name: String
    @Option(help: "viewer, operator, admin or ci.") var role: String
    @OptionGroup var place: StateDirOptions

    func run() async throws {
      let store = try await place.store()
      let person = ProcessInfo.processInfo.environment["USER"].map { "cli:\($0)" } ?? "cli"
      do {
        let made = try await TokenMaker.make(name: name, role: role, by: person, store: store)
        print(made.token)
        FileHandle.standardError.write(Data("token \"\(made.name)\" (role \(made.role.rawValue)) made; it is not shown again\n".utf8))
      } catch {
        throw CLIError(error.description.replacingOccurrences(of: "name:", with: "--name:").replacingOccurrences(of: "role:", with: "--role:"), exitCode: 64)
      }
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The tokens: name, role, when and by whom made.")
    @OptionGroup var place: StateDirOptions
    @OptionGroup var format: OutputOptions

    func run() async throws {
      let tokens = try await place.store().tokens()
      var table = Table(["NAME", "ROLE", "MADE", "BY"])
      for t in tokens { table.add([t.name, t.role.rawValue, IncidentsCommand.time(t.createdAt), t.createdBy]) }
      let infos = tokens.map(TokenInfo.init)
      try format.emit(infos) { tokens.isEmpty ? "no tokens (the API is open on loopback until one exists)" : table.render() }
    }
  }

  struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a token: requests carrying it are refused from then on.")
    @Option(help: "The token's name.") var name: String
    @OptionGroup var place: StateDirOptions

    func run() async throws {
      guard try await place.store().revokeToken(name: name) else {
        throw CLIError("--name: no token named \"\(name)\"", exitCode: 64)
      }
      print("token \"\(name)\" revoked")
    }
  }
}

/// `vigil gate --cluster C`: the release gate for a pipeline; exits 0 to go ahead, 1 with the reasons not to.
struct GateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gate",
    abstract: "Ask whether a change to a cluster may go ahead now (exit 0: pass; 1: fail, with the reasons).")
  @Option(help: "The cluster.") var cluster: String
  @OptionGroup var server: ServerOptions
  @OptionGroup var format: OutputOptions

  func run() async throws {
    let decision = try await server.call { api throws(APIError) in try await api.gate(cluster: cluster) }
    if format.json {
      try format.emit(decision) { "" }
      if !decision.passed { throw ExitCode(1) }
      return
    }
    if decision.passed {
      print("\(cluster): pass")
      return
    }
    print("\(cluster): fail")
    for reason in decision.reasons { print("  - \(reason)") }
    throw ExitCode(1)
  }
}
