import ArgumentParser
import Foundation
import Logging
import VigilConfig
import VigilCore
import VigilDrill
import VigilOracle

/// `vigil drill`: real faults on a local cluster on test hosts, a recorded workload, a checked history, a report.
struct DrillCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drill",
    abstract: "Inject real faults into a local etcd cluster under Vigil and report MTTD, MTTR, unavailability and loss.",
    discussion: """
      Each run builds a 3-member cluster on test hosts (network namespaces joined by a bridge; needs root),
      and for the standby-site scenarios a second one as its standby on hosts of its own, starts Vigil
      outside them, runs a recorded workload, injects the fault, waits until the cluster is verified
      healthy, checks the history for linearizability and lost acknowledged writes, and removes everything
      it created.
      """,
    subcommands: [DrillRunCommand.self, DrillSuiteCommand.self, DrillListCommand.self]
  )
}

struct DrillOptions: ParsableArguments {
  @Option(help: "Vigil configuration (default: built in, one local 3-member cluster at P0 marked drillAllowed).")
  var config: String?

  @Option(help: "The cluster of the configuration to drill (default: the first). It must be drillAllowed and runtime local.")
  var cluster: String?

  @Option(help: "Runs per scenario.") var `repeat`: Int = 1

  @Option(help: "Seed of the first run (run i uses seed + i); default: random, printed.") var seed: UInt64?

  @Option(help: "Where reports go (JSON, table, HTML timelines); default: ./vigil-drills/TIME.") var out: String?

  @Flag(help: "Keep each run's cluster data and Vigil state under the output directory.") var keep = false

  @Flag(help: "Log what Vigil does during the drill.") var verbose = false

  func validate() throws {
    guard (1...1000).contains(`repeat`) else { throw ValidationError("--repeat \(`repeat`) is out of range (1 to 1000)") }
  }

  func suite() throws -> DrillSuite {
    let configuration: VigilConfiguration
    do throws(ConfigError) {
      if let path = config {
        configuration = try ConfigLoader.load(file: path)
      } else {
        configuration = try ConfigLoader.parse(DrillSuite.builtInYAML, file: "built-in drill configuration")
      }
    } catch {
      throw CLIError(error.problems.map(\.description).joined(separator: "; "), exitCode: 64)
    }
    var chosen = configuration
    do { chosen.clusters = [try DrillRunner.drillCluster(configuration, named: cluster)] } catch {
      throw CLIError("\(error)", exitCode: 64)
    }
    var logger = Logger(label: "vigil.drill")
    logger.logLevel = verbose ? .info : .critical
    let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
    let output = out ?? "./vigil-drills/\(stamp)"
    var runner = DrillRunner(config: chosen, workDirectory: output + "/work", logger: logger)
    runner.keep = keep
    return DrillSuite(runner: runner, outputDirectory: output) {
      print($0)
      fflush(nil)
    }
  }

  func run(_ scenarios: [DrillScenario]) async throws {
    let suite = try suite()
    let seed = self.seed ?? UInt64.random(in: 1...999_999)
    print("vigil drill: \(scenarios.map(\.name).joined(separator: ", ")) × \(`repeat`), seed \(seed), reports in \(suite.outputDirectory)")
    fflush(nil)
    let report: DrillReportWriter.SuiteReport
    do { report = try await suite.run(scenarios, repeats: `repeat`, seed: seed) } catch {
      throw CLIError("\(error)")
    }
    if !keep { try? FileManager.default.removeItem(atPath: suite.outputDirectory + "/work") }
    print("\n" + DrillReportWriter.table(report.summaries))
    print("reports: \(suite.outputDirectory)/report.json, report.txt, run-*.json, history-*.json, timeline-*.html")
    let failed = report.runs.filter { !$0.passed }
    if !failed.isEmpty {
      throw CLIError("\(failed.count) of \(report.runs.count) run(s) failed: \(Set(failed.map(\.scenario)).sorted().joined(separator: ", "))", exitCode: 2)
    }
  }
}

struct DrillRunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run one scenario (see 'vigil drill list').")

  @Argument(help: "The scenario.") var scenario: String
  @OptionGroup var options: DrillOptions

  func validate() throws {
    guard DrillScenario.named(scenario) != nil else {
      throw ValidationError(
        "unknown scenario \"\(scenario)\" (expected one of: \(DrillScenario.catalog.map(\.name).joined(separator: ", ")))")
    }
  }

  func run() async throws { try await options.run([DrillScenario.named(scenario)!]) }
}

struct DrillSuiteCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "suite", abstract: "Run every scenario (--repeat N times each) and print the summary table.")

  @OptionGroup var options: DrillOptions

  func run() async throws { try await options.run(DrillScenario.catalog) }
}

struct DrillListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List the scenarios.")

  func run() async throws {
    var table = Table(["SCENARIO", "FAULT", "EXPECTED", "WHAT"])
    for s in DrillScenario.catalog {
      let e = s.expect
      var expected: [String] = []
      if let d = e.diagnosis { expected.append(d.rawValue) } else if e.detected { expected.append("detected") }
      if let r = e.runbook { expected.append(r.rawValue) }
      if e.newLeader { expected.append("new leader") }
      if e.oldLeaderStepsDown { expected.append("old leader steps down") }
      if e.lagReported { expected.append("lag reported") }
      if e.standbyExact { expected.append("standby exact") }
      if e.mirrorResumed { expected.append("mirror resumed") }
      table.add([s.name, s.fault.rawValue, expected.joined(separator: ", "), s.summary])
    }
    print(table.render())
  }
}
