import Foundation
import Synchronization
import Testing
import VigilCore
import VigilRepair
import VigilTestKit

/// Repair as one replica among several (the ownership a `ReplicaCoordinator` gives, played here by the test):
/// a step whose fence fails stops its plan where it is; a person's repair of a cluster this replica does not own
/// is refused; owned again, the plan resumes and finishes, and its step records are forgotten.
@Suite("Repair as one replica among several", .serialized)
struct RepairOwnershipTests {
  struct FenceClosed: Error {}

  final class Ownership: Sendable {
    let owns = Mutex(true)
    let open = Mutex(false)
    let fenced = Mutex<[String]>([])
    let ended = Mutex<[Int64]>([])
  }

  @Test func aFencedStepStopsThePlanAndTheOwnerResumesIt() async throws {
    try await withTestCluster { cluster, _ in
      try await withRepair([("c", cluster)]) { monitor, repairs, _ in
        #expect(try await eventually(timeout: .seconds(60)) { await monitor.health(of: "c") == .healthy })
        let o = Ownership()
        await repairs.share(
          RepairOwnership(
            owns: { _ in o.owns.withLock { $0 } },
            fence: { _, step in
              o.fenced.withLock { $0.append(step) }
              guard o.open.withLock({ $0 }) else { throw FenceClosed() }
            },
            ended: { _, plan in o.ended.withLock { $0.append(plan) } }))
        // The fence closed: the plan stops before its first step, nothing done, still running in the journal.
        let stopped = try await repairs.run(.defragment, cluster: "c", member: "m1", by: "ana", reason: "fence test")
        #expect(!stopped.state.isFinished && stopped.steps.allSatisfy { $0.startedAt == nil }, "\(stopped.state)")
        #expect(o.fenced.withLock { $0 }.first == "c/\(stopped.id)/0")
        #expect(try await monitor.store.audit(cluster: "c", limit: 20).contains { $0.action == "fenced" && $0.planID == stopped.id })
        // Not this replica's cluster now: a person's repair is refused, naming why.
        o.owns.withLock { $0 = false }
        do {
          _ = try await repairs.run(.defragment, cluster: "c", member: "m1", by: "ana", reason: "not mine")
          Issue.record("a replica that does not own the cluster ran a repair")
        } catch let error as RepairRequestError {
          #expect(error.status == 409 && error.message.contains("another replica"), "\(error)")
        }
        // Owned again, the fence open: the same plan resumes and finishes; its records are forgotten.
        o.open.withLock { $0 = true }
        o.owns.withLock { $0 = true }
        let done = try #require(try await finishedPlan(monitor.store, .defragment))
        #expect(done.id == stopped.id && done.state == .succeeded, "\(done.outcome ?? "")")
        #expect(o.ended.withLock { $0 }.contains(stopped.id))
        #expect(try await monitor.store.plans(cluster: "c").filter { $0.runbook == .defragment }.count == 1)
      }
    }
  }
}
