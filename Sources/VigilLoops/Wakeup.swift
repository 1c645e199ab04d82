import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import VigilCore

/// A sleep that another task can cut short: a probe loop waits for its next
/// turn, and an event (leader change, membership change, a finished repair,
/// an on-demand run) wakes it at once.
///
/// Every waiter's continuation is resumed exactly once — by ``wake()``, by its
/// own timeout, or by its cancellation — and any number of tasks may wait at
/// once (each is woken).
///
/// The timeout is a timer on one of NIO's event loops, not a sleeping task: a wait costs one continuation,
/// no child tasks and no dispatch timer (probe loops wait hundreds of times a second; see `vigil bench
/// detect`).
public final class Wakeup: Sendable {
  private struct Waiter {
    var continuation: CheckedContinuation<Void, Never>
    var timer: Scheduled<Void>?
  }
  private struct State {
    /// A wake with nobody waiting: the next wait returns at once.
    var pending = false
    var nextID = 0
    var waiters: [Int: Waiter] = [:]
  }
  private let state = NIOLockedValueBox(State())
  private let loops: any EventLoopGroup

  /// - Parameter loops: where the timeouts run (NIO's shared event loops by default).
  public init(loops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) { self.loops = loops }

  /// Wakes every current wait, or the next one if nobody waits.
  public func wake() {
    let woken = state.withLockedValue { s -> [Waiter] in
      guard !s.waiters.isEmpty else {
        s.pending = true
        return []
      }
      defer { s.waiters = [:] }
      return Array(s.waiters.values)
    }
    for w in woken {
      w.timer?.cancel()
      w.continuation.resume()
    }
  }

  /// Tasks waiting now (tests).
  var waiting: Int { state.withLockedValue { $0.waiters.count } }

  /// Waits `duration` or until woken (or cancelled), whichever comes first.
  public func wait(_ duration: Duration) async {
    let id = state.withLockedValue { s -> Int in
      s.nextID += 1
      return s.nextID
    }
    let nanoseconds = max(0, duration.nanoseconds)
    await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLockedValue { s -> Bool in
          if s.pending {
            s.pending = false
            return true
          }
          // Cancelled before it could register: the handler found nothing to resume.
          if Task.isCancelled { return true }
          s.waiters[id] = Waiter(continuation: c, timer: nil)
          return false
        }
        if resumeNow {
          c.resume()
          return
        }
        let timer = loops.any().scheduleTask(in: .nanoseconds(nanoseconds)) { [self] () -> Void in
          let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
          waiter?.continuation.resume()
        }
        // Kept so a wake cancels it; if the waiter is already gone, so is the need for the timer.
        let gone = state.withLockedValue { s -> Bool in
          guard s.waiters[id] != nil else { return true }
          s.waiters[id]?.timer = timer
          return false
        }
        if gone { timer.cancel() }
      }
    } onCancel: {
      // Whoever removes the waiter resumes it: here, the timer, or wake() — exactly one of them.
      let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
      waiter?.timer?.cancel()
      waiter?.continuation.resume()
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
    // A free slot is taken without suspending (the common case: probes rarely queue).
    let free = state.withLockedValue { s -> Bool in
      guard s.available > 0 else { return false }
      s.available -= 1
      return true
    }
    let holdsSlot = free ? true : await acquire()
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

/// One loop among many in a task group that must end on its own (a probe loop whose member left): the loop
/// checks ``isStopped`` each turn, and ``stop()`` wakes it so it sees it at once.
public final class LoopControl: Sendable {
  public let wakeup = Wakeup()
  private let stopped = NIOLockedValueBox(false)

  public init() {}

  public var isStopped: Bool { stopped.withLockedValue { $0 } }

  public func stop() {
    stopped.withLockedValue { $0 = true }
    wakeup.wake()
  }
}
