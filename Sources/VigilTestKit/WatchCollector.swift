import Synchronization
import VigilEtcd

/// A test waited longer than it allows for something.
public struct TestTimeout: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Runs `body`, and fails with ``TestTimeout`` (cancelling it) if it has not
/// finished within `limit`: a lost wake-up or an event that never comes
/// fails the test instead of hanging the run.
public func within<T: Sendable>(
  _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
  try await withThrowingTaskGroup(of: T?.self) { group in
    group.addTask { try await body() }
    group.addTask {
      try await Task.sleep(for: limit)
      return nil
    }
    let first = try await group.next() ?? nil
    group.cancelAll()
    guard let first else { throw TestTimeout("\(what) did not finish within \(limit)") }
    return first
  }
}

/// Collects the events `watch` delivers until `count` have arrived. Fails
/// after `limit` with what did arrive, instead of waiting forever for an
/// event that will never come.
public func collectEvents(_ watch: EtcdWatch, count: Int, within limit: Duration = .seconds(60)) async throws
  -> [EtcdWatchEvent]
{
  let seen = EventBox()
  do {
    try await within(limit, "the watch") {
      for try await response in watch {
        let n = seen.events.withLock { all in
          all += response.events
          return all.count
        }
        if n >= count { return }
      }
    }
  } catch is TestTimeout {
    let events = seen.events.withLock { $0 }
    throw TestTimeout(
      "the watch delivered \(events.count) of \(count) events within \(limit): \(events.map(\.kv.valueString))")
  }
  return seen.events.withLock { $0 }
}

private final class EventBox: Sendable {
  let events = Mutex<[EtcdWatchEvent]>([])
}
