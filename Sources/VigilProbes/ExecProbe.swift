import Foundation
import VigilCore

#if canImport(Glibc)
  import Glibc
#endif

/// `exec`: runs any program as a probe, in the Nagios/Icinga plugin
/// convention (see ``NagiosOutput``), so existing check plugins work
/// unchanged. A program still running at its deadline is killed (SIGKILL)
/// and the result is a timeout.
///
/// With a ``ReportInbox``, each run also gets a one-time URL in
/// `VIGIL_REPORT_URL`; a JSON ``ProbeReport`` POSTed there before the program
/// exits replaces what its exit code and output say.
public struct ExecProbe: Sendable {
  public let name: String
  public let target: String
  public let command: [String]
  /// Extra environment for the program (Vigil passes the cluster and member it probes).
  public let environment: [String: String]
  public let inbox: ReportInbox?

  public init(
    name: String, target: String, command: [String], environment: [String: String] = [:], inbox: ReportInbox? = nil
  ) {
    self.name = name
    self.target = target
    self.command = command
    self.environment = environment
    self.inbox = inbox
  }

  public func run(timeout: Duration) async -> ProbeResult {
    let clock = ContinuousClock()
    let start = clock.now
    func finish(_ status: ProbeStatus, _ failure: ProbeFailureKind?, _ message: String, _ metrics: [String: Double] = [:])
      -> ProbeResult
    {
      let latency = start.duration(to: clock.now)
      return ProbeResult(
        probe: name, target: target, status: status, failure: failure, message: message, latency: latency,
        steps: [ProbeStep(name: "exec", latency: latency, succeeded: status == .ok || status == .warning)],
        metrics: metrics)
    }
    guard let program = command.first else { return finish(.unknown, .other, "no command configured") }
    // Output goes to a scratch file, not a pipe: no reader thread, and a
    // chatty plugin can never block on a full pipe. The process is polled,
    // never waited on with Foundation's run-loop-based waitUntilExit.
    let outputPath = FileManager.default.temporaryDirectory
      .appendingPathComponent("vigil-exec-\(UUID().uuidString)").path
    guard FileManager.default.createFile(atPath: outputPath, contents: nil),
      let outputFile = FileHandle(forWritingAtPath: outputPath)
    else { return finish(.unknown, .other, "cannot create a scratch file for \(program)'s output") }
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = Array(command.dropFirst())
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    let slot = inbox?.open()
    if let slot { env["VIGIL_REPORT_URL"] = slot.url }
    defer { if let slot { _ = inbox?.close(slot.token) } }
    process.environment = env
    process.standardOutput = outputFile
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch {
      try? outputFile.close()
      return finish(.unknown, .other, "cannot run \(program): \(error.localizedDescription)")
    }
    try? outputFile.close()
    let deadline = clock.now + timeout
    var timedOut = false
    while process.isRunning {
      if clock.now >= deadline {
        timedOut = true
        kill(process.processIdentifier, SIGKILL)
        // Bounded: should Foundation never notice the exit, the probe still ends.
        let reaped = clock.now + .seconds(2)
        while process.isRunning, clock.now < reaped { try? await Task.sleep(for: .milliseconds(2)) }
        break
      }
      try? await Task.sleep(for: .milliseconds(5))
    }
    if timedOut {
      return finish(.critical, .timeout, "\(program) did not finish within \(timeout) and was killed")
    }
    if let slot, let report = inbox?.close(slot.token) {
      let latency = start.duration(to: clock.now)
      return ProbeResult(
        probe: name, target: target, status: report.status,
        failure: report.status == .ok || report.status == .warning ? nil : (report.status == .unknown ? .other : .badAnswer),
        message: report.message, latency: latency,
        steps: report.steps.isEmpty
          ? [ProbeStep(name: "exec", latency: latency, succeeded: report.status == .ok || report.status == .warning)]
          : report.steps,
        metrics: report.metrics)
    }
    let data = FileManager.default.contents(atPath: outputPath) ?? Data()
    let parsed = NagiosOutput(exitCode: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    let failure: ProbeFailureKind? =
      switch parsed.status {
      case .ok, .warning: nil
      case .critical: parsed.message.lowercased().contains("refused") ? .refused : .badAnswer
      case .unknown: .other
      }
    return finish(parsed.status, failure, parsed.message, parsed.performance)
  }
}
