import Synchronization
import VigilEtcd

/// A test waited longer than it allows for something.
public struct TestTimeout: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Collects the events `watch` delivers until `count` have arrived. Fails
/// after `limit` with what did arrive, instead of waiting forever for an
/// event that will never come.
public func collectEvents(_ watch: EtcdWatch, count: Int, within limit: Duration = .seconds(60)) async throws
  -> [EtcdWatchEvent]
{
  let seen = EventBox()
  let complete = try await withThrowingTaskGroup(of: Bool.self) { group in
    group.addTask {
      for try await response in watch {
        let n = seen.events.withLock { all in
          all += response.events
          return all.count
        }
        if n >= count { return true }
      }
      return false
    }
    group.addTask {
      try await Task.sleep(for: limit)
      return false
    }
    let first = try await group.next() ?? false
    group.cancelAll()
    return first
  }
  let events = seen.events.withLock { $0 }
  guard complete else {
    throw TestTimeout(
      "the watch delivered \(events.count) of \(count) events within \(limit): \(events.map(\.kv.valueString))")
  }
  return events
}

private final class EventBox: Sendable {
  let events = Mutex<[EtcdWatchEvent]>([])
}
