import Foundation
import VigilEtcd

/// What clients see of the store revision through a drill: linearizable reads every 50 ms (their header
/// revision must never go lower than one seen before) and a watch held across the fault (after a restore it
/// must end as compacted — clients relist — never skip or repeat changes silently).
actor RevisionSentinel {
  private(set) var highest: Int64 = 0
  private(set) var regressions = 0
  private(set) var watchOutcome = "open"
  private var watchLast: Int64 = 0

  /// The first few regressions, as `what: from → to`.
  private(set) var samples: [String] = []

  func observe(_ revision: Int64, _ what: String = "read") {
    if revision < highest {
      regressions += 1
      if samples.count < 5 { samples.append("\(what): \(highest) → \(revision)") }
    } else {
      highest = revision
    }
  }

  func delivered(_ revision: Int64) {
    if revision < watchLast {  // several events of one transaction share a revision
      regressions += 1
      if samples.count < 5 { samples.append("watch event: \(watchLast) → \(revision)") }
    }
    watchLast = max(watchLast, revision)
  }

  func watchEnded(_ outcome: String) { watchOutcome = outcome }

  /// Reads and watches until cancelled.
  nonisolated func run(reads: EtcdClient, watch: EtcdClient, prefix: String) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        let client = reads.withCallTimeout(.milliseconds(500))
        while !Task.isCancelled {
          if let r = try? await client.kv.range("/drill-revision", keysOnly: true) { await self.observe(r.revision) }
          try? await Task.sleep(for: .milliseconds(50))
        }
      }
      group.addTask {
        do {
          for try await response in watch.watch(prefix, options: EtcdWatchOptions(prefix: true)) {
            for event in response.events { await self.delivered(event.kv.modRevision) }
          }
        } catch let error as EtcdError where error.code == .compacted {
          await self.watchEnded("compacted")
        } catch {
          if !Task.isCancelled { await self.watchEnded("error: \(error)") }
        }
      }
      await group.waitForAll()
    }
  }
}
