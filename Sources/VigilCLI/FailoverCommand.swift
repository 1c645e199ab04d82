import ArgumentParser
import Foundation
import VigilAPI
import VigilCore

/// `vigil failover` and `vigil failback`: promote-standby by hand, through a running `vigil serve`.
struct FailoverCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "failover",
    abstract: "Switch a cluster's clients to its standby: the active side is fenced, the standby drained and promoted.",
    discussion: """
      Runs the promote-standby runbook and waits until it ends: the active side's members are stopped first \
      (no client gets a write acknowledged there afterwards), the mirror applies what it received and the \
      RPO is recorded, the standby is compacted at its revision (old watches relist), becomes the active side \
      and its endpoints are published; the old side comes back as the new standby. Use `vigil failback` to \
      switch back.
      """)
  @Option(help: "The cluster (the pair's primary name).") var cluster: String
  @Option(name: .customLong("operator"), help: "Who fails over.") var person: String = RepairCommand.defaultOperator
  @Option(help: "Why.") var reason: String = ""
  @OptionGroup var server: ServerOptions

  func run() async throws {
    try await Self.switchSides(cluster: cluster, toPrimary: false, person: person, reason: reason, server: server)
  }

  /// Checks the direction against the published active side, then runs the switch.
  static func switchSides(cluster: String, toPrimary: Bool, person: String, reason: String, server: ServerOptions) async throws {
    let now = try await server.call { api throws(APIError) in try await api.endpoints(cluster: cluster) }
    guard let standby = now.standby else { throw CLIError("\(cluster) has no standby (set clusters[].standby)", exitCode: 64) }
    let servedByPrimary = now.active == now.cluster
    if toPrimary && servedByPrimary {
      throw CLIError("\(now.cluster) already serves its clients: nothing to fail back", exitCode: 64)
    }
    if !toPrimary && !servedByPrimary {
      throw CLIError("\(now.cluster) is served by \(now.active) already: use vigil failback to switch back", exitCode: 64)
    }
    let plan = try await server.call { api throws(APIError) in
      try await api.failover(cluster: now.cluster, operator: person, reason: reason)
    }
    print(RepairCommand.render(plan))
    guard plan.state == .succeeded else {
      throw CLIError("promote-standby #\(plan.id) \(plan.state.rawValue): \(plan.outcome ?? "")")
    }
    let to = plan.context["to"] ?? standby
    print("\(now.cluster) is served by \(to) now; RPO \(plan.context["failover.lostRevisions"] ?? "?") revision(s)")
  }
}

struct FailbackCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "failback",
    abstract: "Switch a cluster's clients back to its primary after a failover (the same runbook, the other way).")
  @Option(help: "The cluster (the pair's primary name).") var cluster: String
  @Option(name: .customLong("operator"), help: "Who fails back.") var person: String = RepairCommand.defaultOperator
  @Option(help: "Why.") var reason: String = ""
  @OptionGroup var server: ServerOptions

  func run() async throws {
    try await FailoverCommand.switchSides(cluster: cluster, toPrimary: true, person: person, reason: reason, server: server)
  }
}
