import Synchronization
import Testing
import VigilTestKit

@testable import VigilLoops

/// The hand-made waiting primitives: every waiter resumes exactly once — woken, timed out or cancelled.
/// Each test bounds its own waiting, so a lost wake-up fails it instead of hanging the run.
@Suite("Wakeup and limiter")
struct WakeupTests {
  /// Runs `body`, failing (not hanging) if it has not returned within `limit`.
  func finishes(within limit: Duration = .seconds(20), _ what: String, _ body: @escaping @Sendable () async -> Void)
    async throws
  {
    try await within(limit, what, body)
  }

  @Test func oneWakeEndsEveryConcurrentWait() async throws {
    let wakeup = Wakeup()
    try await finishes("five waits of 10 minutes after one wake") {
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<5 { group.addTask { await wakeup.wait(.seconds(600)) } }
        while wakeup.waiting < 5 { try? await Task.sleep(for: .milliseconds(5)) }
        wakeup.wake()
      }
    }
    #expect(wakeup.waiting == 0)
  }

  @Test func aWakeWithNobodyWaitingEndsTheNextWaitAtOnce() async throws {
    let wakeup = Wakeup()
    wakeup.wake()
    try await finishes("a wait after a wake") { await wakeup.wait(.seconds(600)) }
    // The pending wake is used up: the next wait times out as asked.
    try await finishes("a 50 ms wait") { await wakeup.wait(.milliseconds(50)) }
  }

  @Test func aCancelledWaitReturnsAndLeavesNoWaiterBehind() async throws {
    let wakeup = Wakeup()
    try await finishes("a cancelled 10-minute wait") {
      let task = Task { await wakeup.wait(.seconds(600)) }
      while wakeup.waiting < 1 { try? await Task.sleep(for: .milliseconds(5)) }
      task.cancel()
      await task.value
    }
    #expect(wakeup.waiting == 0)
    // Cancelled before it even started waiting.
    try await finishes("a wait in an already cancelled task") {
      let task = Task {
        withUnsafeCurrentTask { $0?.cancel() }
        await wakeup.wait(.seconds(600))
      }
      await task.value
    }
  }

  @Test func theLimiterQueuesInOrderAndACancelledWaiterLeavesTheQueue() async throws {
    let limiter = AsyncLimiter(limit: 1)
    let gate = Wakeup()
    let order = OrderLog()
    try await finishes("the limiter run") {
      let holder = Task {
        await limiter.run {
          order.names.withLock { $0.append("holder") }
          await gate.wait(.seconds(600))
        }
      }
      while order.names.withLock({ $0.isEmpty }) { try? await Task.sleep(for: .milliseconds(5)) }
      let queued = Task { await limiter.run { order.names.withLock { $0.append("queued") } } }
      let cancelled = Task { await limiter.run { order.names.withLock { $0.append("cancelled") } } }
      try? await Task.sleep(for: .milliseconds(50))
      // Cancelling a queued task lets it go at once, without waiting for the holder.
      cancelled.cancel()
      await cancelled.value
      #expect(order.names.withLock { $0 } == ["holder", "cancelled"])
      gate.wake()
      await holder.value
      await queued.value
    }
    #expect(order.names.withLock { $0 } == ["holder", "cancelled", "queued"])
    #expect(limiter.availableSlots == 1)
  }
}

private final class OrderLog: Sendable {
  let names = Mutex<[String]>([])
}
