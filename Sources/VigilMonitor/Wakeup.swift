import NIOConcurrencyHelpers

/// A sleep that another task can cut short: a probe loop waits for its next
/// turn, and an event (leader change, membership change, a finished repair,
/// an on-demand run) wakes it at once.
public final class Wakeup: Sendable {
  private struct State {
    var pending = false
    var waiter: CheckedContinuation<Void, Never>?
  }
  private let state = NIOLockedValueBox(State())

  public init() {}

  /// Wakes the current or the next wait.
  public func wake() {
    let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
      if let w = s.waiter {
        s.waiter = nil
        return w
      }
      s.pending = true
      return nil
    }
    waiter?.resume()
  }

  /// Waits `duration` or until woken (or cancelled), whichever comes first.
  public func wait(_ duration: Duration) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { try? await Task.sleep(for: duration) }
      group.addTask { await self.waitForWake() }
      _ = await group.next()
      group.cancelAll()
      self.dropWaiter()
    }
  }

  private func waitForWake() async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLockedValue { s -> Bool in
          if s.pending || Task.isCancelled {
            s.pending = false
            return true
          }
          s.waiter = c
          return false
        }
        if resumeNow { c.resume() }
      }
    } onCancel: {
      self.dropWaiter()
    }
  }

  private func dropWaiter() {
    let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
      defer { s.waiter = nil }
      return s.waiter
    }
    waiter?.resume()
  }
}

/// At most `limit` bodies run at once; the rest queue in order.
final class AsyncLimiter: Sendable {
  private struct State {
    var available: Int
    var queue: [CheckedContinuation<Void, Never>] = []
  }
  private let state: NIOLockedValueBox<State>

  init(limit: Int) { state = NIOLockedValueBox(State(available: max(1, limit))) }

  func run<T: Sendable>(_ body: () async -> T) async -> T {
    await acquire()
    defer { release() }
    return await body()
  }

  private func acquire() async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let go = state.withLockedValue { s -> Bool in
        if s.available > 0 {
          s.available -= 1
          return true
        }
        s.queue.append(c)
        return false
      }
      if go { c.resume() }
    }
  }

  private func release() {
    let next = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
      if s.queue.isEmpty {
        s.available += 1
        return nil
      }
      return s.queue.removeFirst()
    }
    next?.resume()
  }
}
