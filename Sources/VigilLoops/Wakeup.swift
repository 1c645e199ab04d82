import NIOConcurrencyHelpers

/// A sleep that another task can cut short: a probe loop waits for its next
/// turn, and an event (leader change, membership change, a finished repair,
/// an on-demand run) wakes it at once.
///
/// Every waiter's continuation is resumed exactly once — by ``wake()``, by its
/// own timeout, or by its cancellation — and any number of tasks may wait at
/// once (each is woken).
public final class Wakeup: Sendable {
  private struct State {
    /// A wake with nobody waiting: the next wait returns at once.
    var pending = false
    var nextID = 0
    var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
  }
  private let state = NIOLockedValueBox(State())

  public init() {}

  /// Wakes every current wait, or the next one if nobody waits.
  public func wake() {
    let woken = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
      guard !s.waiters.isEmpty else {
        s.pending = true
        return []
      }
      defer { s.waiters = [:] }
      return Array(s.waiters.values)
    }
    for w in woken { w.resume() }
  }

  /// Tasks waiting now (tests).
  var waiting: Int { state.withLockedValue { $0.waiters.count } }

  /// Waits `duration` or until woken (or cancelled), whichever comes first.
  public func wait(_ duration: Duration) async {
    let id = state.withLockedValue { s -> Int in
      s.nextID += 1
      return s.nextID
    }
    // Both children end once either does: the sleep on cancellation, the wake wait through its handler.
    await withTaskGroup(of: Void.self) { group in
      group.addTask { try? await Task.sleep(for: duration) }
      group.addTask { await self.waitForWake(id) }
      _ = await group.next()
      group.cancelAll()
    }
  }

  private func waitForWake(_ id: Int) async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLockedValue { s -> Bool in
          if s.pending {
            s.pending = false
            return true
          }
          // Cancelled before it could register: the handler found nothing to resume.
          if Task.isCancelled { return true }
          s.waiters[id] = c
          return false
        }
        if resumeNow { c.resume() }
      }
    } onCancel: {
      // Whoever removes the waiter resumes it: here, or wake() before us.
      state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
    }
  }
}

/// At most `limit` bodies run at once; the rest queue in order. A task
/// cancelled while it queues leaves the queue at once and runs its body
/// without a slot (the body sees the cancellation and ends quickly), so a
/// stopping monitor never waits behind probes it is cancelling.
package final class AsyncLimiter: Sendable {
  private struct State {
    var available: Int
    var nextID = 0
    /// Waiting tasks in arrival order.
    var queue: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
  }
  private let state: NIOLockedValueBox<State>

  package init(limit: Int) { state = NIOLockedValueBox(State(available: max(1, limit))) }

  package func run<T: Sendable>(_ body: () async -> T) async -> T {
    let holdsSlot = await acquire()
    defer { if holdsSlot { release() } }
    return await body()
  }

  /// Waits for a slot. - Returns: true with a slot, false when cancelled while queued (no slot).
  private func acquire() async -> Bool {
    let id = state.withLockedValue { s -> Int in
      s.nextID += 1
      return s.nextID
    }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
        let granted = state.withLockedValue { s -> Bool? in
          if s.available > 0 {
            s.available -= 1
            return true
          }
          if Task.isCancelled { return false }
          s.queue.append((id, c))
          return nil
        }
        if let granted { c.resume(returning: granted) }
      }
    } onCancel: {
      let waiter = state.withLockedValue { s -> CheckedContinuation<Bool, Never>? in
        guard let i = s.queue.firstIndex(where: { $0.id == id }) else { return nil }
        return s.queue.remove(at: i).continuation
      }
      waiter?.resume(returning: false)
    }
  }

  /// Hands the slot to the longest-waiting task, or frees it.
  private func release() {
    let next = state.withLockedValue { s -> CheckedContinuation<Bool, Never>? in
      if s.queue.isEmpty {
        s.available += 1
        return nil
      }
      return s.queue.removeFirst().continuation
    }
    next?.resume(returning: true)
  }

  /// Slots free now (tests).
  var availableSlots: Int { state.withLockedValue { $0.available } }
}
