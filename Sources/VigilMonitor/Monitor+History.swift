import Foundation
import VigilCore
import VigilStore

extension Monitor {
  /// Writes pending results every second, and transitions and incident changes as soon as they happen.
  func flushLoop() async {
    while !Task.isCancelled {
      await flushWakeup.wait(.seconds(1))
      await liveness.checkpoint(Self.writerLoopName)
      await flush()
      liveness.turned(Self.writerLoopName)
    }
  }

  /// How long one store write may take on a busy disk (SQLite waits up to 5 s for a lock).
  static let storeWriteAllowance: Duration = .seconds(6)
  static let compactionInterval: Duration = .seconds(600)

  func flush() async {
    let results = pendingResults
    let transitions = pendingTransitions
    let incidents = pendingIncidents
    pendingResults = []
    pendingTransitions = []
    pendingIncidents = []
    do { try await store.record(results: results, transitions: transitions, incidents: incidents) } catch {
      logger.error(
        "cannot store history", metadata: ["error": "\(error)", "results": "\(results.count)", "incidents": "\(incidents.count)"])
    }
  }

  func compactionLoop() async {
    while !Task.isCancelled {
      var policy = RetentionPolicy()
      let h = configuration.history
      policy.rawResults = h.rawRetention.duration
      policy.rollups = h.rollupRetention.duration
      policy.events = h.eventRetention.duration
      policy.maxRawResults = h.maxRawResults
      await liveness.checkpoint(Self.compactionLoopName)
      do { try await store.compact(now: Self.now(), policy: policy) } catch {
        logger.error("cannot compact the history", metadata: ["error": "\(error)"])
      }
      liveness.turned(Self.compactionLoopName)
      try? await Task.sleep(for: Self.compactionInterval)
    }
  }
}
