import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilLoops
import VigilMonitor

/// Vigil's watchdog, as a service of `vigil serve`: once start-up is done it
/// tells systemd `READY=1`; then, every second (or at half of systemd's
/// watchdog timeout, if shorter), it asks ``Liveness`` for a verdict. While
/// every loop turns it sends `WATCHDOG=1` (under systemd); while loops are
/// stalled it withholds it and logs them, so systemd restarts a stalled
/// Vigil; once loops have been stalled past `watchdog.stallAfter` it logs
/// them and gives up (by default the process exits with status 70), so any
/// other supervisor restarts it too.
struct WatchdogService: Service {
  let liveness: Liveness
  let notifier: SystemdNotifier?
  /// True once the loops run and the API listens.
  let started: @Sendable () async -> Bool
  let giveUp: @Sendable ([StalledLoop]) -> Void
  let logger: Logger

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        while !(await started()) { try await Task.sleep(for: .milliseconds(50)) }
        if let notifier, let failure = notifier.send("READY=1\nSTATUS=guarding") {
          logger.error(
            "cannot notify systemd", metadata: ["socket": "\(notifier.socketPath)", "error": "\(failure)"])
        }
        try await watch()
      }
    } catch is CancellationError {
      // Graceful shutdown.
    }
    notifier?.send("STOPPING=1")
  }

  private func watch() async throws {
    var tick = Duration.seconds(1)
    if let interval = notifier?.watchdogInterval, interval < tick { tick = interval }
    var reported: [String] = []
    while true {
      switch liveness.verdict() {
      case .alive:
        if !reported.isEmpty {
          logger.notice("every loop turns again", metadata: ["loops.recovered": "\(reported.joined(separator: ", "))"])
          reported = []
        }
        if notifier?.watchdogTimeout != nil { notifier?.send("WATCHDOG=1") }
      case .stalled(let stalled):
        let names = stalled.map(\.loop)
        if names != reported {
          logger.warning(
            "loops stalled; withholding the watchdog keep-alive",
            metadata: ["loops.stalled": "\(Self.describe(stalled))"])
          reported = names
        }
      case .giveUp(let stalled):
        logger.critical(
          "loops stalled for too long; giving up so a supervisor restarts Vigil",
          metadata: ["loops.stalled": "\(Self.describe(stalled))"])
        giveUp(stalled)
        return
      }
      try await Task.sleep(for: tick)
    }
  }

  static func describe(_ stalled: [StalledLoop]) -> String {
    stalled.prefix(20).map { "\($0.loop) (silent \(String(format: "%.1f", $0.ageSeconds)) s)" }
      .joined(separator: ", ") + (stalled.count > 20 ? ", and \(stalled.count - 20) more" : "")
  }
}
