import ArgumentParser
import Foundation
import VigilAPI
import VigilCore

/// `vigil repair run|list|approve|reject|pause|resume`: drives repairs through a running `vigil serve`.
struct RepairCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "Run runbooks by hand, decide plans in approve mode, pause or resume automatic repair.",
    subcommands: [Run.self, List.self, Approve.self, Reject.self, Pause.self, Resume.self]
  )

  struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run RUNBOOK now through the same safety guards as automatic repair; waits until it ends.",
      discussion: "Runbooks: \(Runbook.allCases.map(\.rawValue).joined(separator: ", ")). Exits 0 when it succeeded, 2 otherwise.")

    @Argument(help: "The runbook.") var runbook: String
    @Option(help: "The cluster.") var cluster: String
    @Option(help: "The member (restart-member, unstick-member, replace-member).") var member: String?
    @Option(name: .customLong("operator"), help: "Who is acting (recorded in the audit log).") var person: String = RepairCommand.defaultOperator
    @Option(help: "Why (recorded in the audit log).") var reason: String = ""
    @Flag(help: "Only write the plan out; change nothing.") var dryRun = false
    @OptionGroup var server: ServerOptions

    func run() async throws {
      guard let chosen = Runbook(rawValue: runbook) else {
        throw CLIError(
          "RUNBOOK: \"\(runbook)\" is not a runbook (expected one of \(Runbook.allCases.map(\.rawValue).joined(separator: ", ")))",
          exitCode: 64)
      }
      let plan = try await server.call { api throws(APIError) in
        try await api.repair(chosen, cluster: cluster, member: member, operator: person, reason: reason, dryRun: dryRun)
      }
      print(RepairCommand.render(plan))
      if plan.state != .succeeded && plan.state != .dryRun { throw ExitCode(2) }
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List repair plans, newest first.")
    @Option(help: "Only this cluster.") var cluster: String?
    @Option(help: "Only plans in this state (\(PlanState.allCases.map(\.rawValue).joined(separator: ", "))).") var state: String?
    @Option(help: "At most this many.") var limit: Int = 20
    @OptionGroup var server: ServerOptions
    @OptionGroup var format: OutputOptions

    func run() async throws {
      let plans = try await server.call { api throws(APIError) in
        try await api.repairs(cluster: cluster, state: state, limit: limit)
      }
      var table = Table(["ID", "CLUSTER", "RUNBOOK", "MEMBER", "STATE", "BY", "STEPS", "OUTCOME"])
      for p in plans {
        let done = p.steps.filter { $0.state == .done }.count
        table.add([
          "\(p.id)", p.cluster, p.runbook.rawValue, p.member ?? "-", p.state.rawValue, p.decidedBy ?? p.requestedBy,
          "\(done)/\(p.steps.count)", p.outcome ?? p.reason,
        ])
      }
      try format.emit(plans) { plans.isEmpty ? "no plans" : table.render() }
    }
  }

  struct Approve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Approve a plan waiting for approval; it runs at once.")
    @Argument(help: "The plan's number.") var id: Int64
    @Option(name: .customLong("operator"), help: "Who approves.") var person: String = RepairCommand.defaultOperator
    @OptionGroup var server: ServerOptions

    func run() async throws {
      let plan = try await server.call { api throws(APIError) in try await api.approve(plan: id, operator: person) }
      print("plan #\(plan.id) approved by \(person): \(plan.runbook.rawValue) is running")
    }
  }

  struct Reject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reject a plan waiting for approval.")
    @Argument(help: "The plan's number.") var id: Int64
    @Option(name: .customLong("operator"), help: "Who rejects.") var person: String = RepairCommand.defaultOperator
    @Option(help: "Why.") var reason: String = ""
    @OptionGroup var server: ServerOptions

    func run() async throws {
      let plan = try await server.call { api throws(APIError) in
        try await api.reject(plan: id, operator: person, reason: reason)
      }
      print("plan #\(plan.id) rejected by \(person)")
    }
  }

  struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop automatic repair of a cluster (kept across restarts).")
    @Option(help: "The cluster.") var cluster: String
    @Option(name: .customLong("operator"), help: "Who pauses.") var person: String = RepairCommand.defaultOperator
    @Option(help: "Why.") var reason: String = ""
    @OptionGroup var server: ServerOptions

    func run() async throws {
      try await server.call { api throws(APIError) in try await api.pause(cluster: cluster, operator: person, reason: reason) }
      print("automatic repair of \(cluster) paused by \(person)")
    }
  }

  struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Resume automatic repair of a cluster; faults escalated before may be planned again.")
    @Option(help: "The cluster.") var cluster: String
    @Option(name: .customLong("operator"), help: "Who resumes.") var person: String = RepairCommand.defaultOperator
    @Option(help: "Why.") var reason: String = ""
    @OptionGroup var server: ServerOptions

    func run() async throws {
      try await server.call { api throws(APIError) in try await api.resume(cluster: cluster, operator: person, reason: reason) }
      print("automatic repair of \(cluster) resumed by \(person)")
    }
  }

  /// The login name of whoever runs the command.
  static var defaultOperator: String { ProcessInfo.processInfo.environment["USER"] ?? "operator" }

  static func render(_ p: RepairPlan) -> String {
    var lines = [
      "plan #\(p.id) \(p.runbook.rawValue)\(p.member.map { " on \(p.cluster)/\($0)" } ?? " on \(p.cluster)"): \(p.state.rawValue)"
    ]
    for s in p.steps {
      var took = ""
      if let a = s.startedAt, let b = s.finishedAt { took = String(format: " %.2f s", b - a) }
      lines.append("  [\(s.state.rawValue)] \(s.label)\(took)\(s.detail.map { ": \($0)" } ?? "")")
    }
    if let outcome = p.outcome { lines.append("outcome: \(outcome)") }
    return lines.joined(separator: "\n")
  }
}
