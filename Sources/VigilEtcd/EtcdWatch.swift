import Foundation
import GRPCCore
import NIOConcurrencyHelpers
import VigilEtcdProto

/// What to watch and from where.
public struct EtcdWatchOptions: Sendable, Hashable {
  /// Watch every key under the key as a prefix.
  public var prefix = false
  /// Deliver events from this revision on (0: from now).
  public var startRevision: Int64 = 0
  /// Include each key's previous value.
  public var prevKV = false
  /// Ask etcd for periodic progress notifications (empty responses carrying the revision).
  public var progressNotify = false
  /// How often the watch checks that its stream is alive (a progress request
  /// must be answered within twice this); a silent stream is reopened.
  public var livenessInterval: Duration = .seconds(2)

  public init(
    prefix: Bool = false, startRevision: Int64 = 0, prevKV: Bool = false, progressNotify: Bool = false
  ) {
    self.prefix = prefix
    self.startRevision = startRevision
    self.prevKV = prevKV
    self.progressNotify = progressNotify
  }
}

/// One change delivered by a watch.
public struct EtcdWatchEvent: Sendable, Hashable {
  public enum Kind: Sendable, Hashable { case put, delete }
  public var kind: Kind
  public var kv: EtcdKeyValue
  public var previous: EtcdKeyValue?
}

/// A batch of events at one revision, or a progress notification.
public struct EtcdWatchResponse: Sendable, Hashable {
  /// The store revision of the response header.
  public var revision: Int64
  public var events: [EtcdWatchEvent]
  public var isProgressNotify: Bool { events.isEmpty }
}

/// An `AsyncSequence` of watch responses. It survives connection loss: the
/// watch is re-created (on the next endpoint) from the revision after the
/// last one delivered, so no event is lost or repeated. It ends with
/// ``EtcdError/Code/compacted`` when etcd no longer has that revision.
public struct EtcdWatch: AsyncSequence, Sendable {
  public typealias Element = EtcdWatchResponse
  let client: EtcdClient
  let key: String
  let options: EtcdWatchOptions
  let reconnects: NIOLockedValueBox<Int>

  /// How many times the stream was re-created after a failure.
  public var reconnectCount: Int { reconnects.withLockedValue { $0 } }

  public func makeAsyncIterator() -> AsyncThrowingStream<EtcdWatchResponse, any Error>.AsyncIterator {
    let (stream, continuation) = AsyncThrowingStream<EtcdWatchResponse, any Error>.makeStream()
    let client = self.client
    let key = self.key
    let options = self.options
    let reconnects = self.reconnects
    // An unstructured task: it feeds the iterator for as long as the caller
    // iterates, and is cancelled when the caller stops.
    let task = Task {
      await Self.run(client: client, key: key, options: options, reconnects: reconnects, into: continuation)
    }
    continuation.onTermination = { _ in task.cancel() }
    return stream.makeAsyncIterator()
  }

  private static func run(
    client: EtcdClient, key: String, options: EtcdWatchOptions, reconnects: NIOLockedValueBox<Int>,
    into continuation: AsyncThrowingStream<EtcdWatchResponse, any Error>.Continuation
  ) async {
    let next = NIOLockedValueBox(options.startRevision)
    var failuresInARow = 0
    while !Task.isCancelled {
      let slot = client.endpointSet.preferredSlot
      let lastAnswer = NIOLockedValueBox(ContinuousClock.now)
      let delivered = NIOLockedValueBox(false)
      do {
        let metadata = try await client.streamMetadata()
        let stub = Etcdserverpb_Watch.Client(wrapping: slot.grpc)
        let create = Etcdserverpb_WatchRequest.with {
          $0.createRequest = .with {
            // An empty prefix is every key: etcd spells that key "\0", range end "\0".
            $0.key = key.isEmpty && options.prefix ? Data([0]) : Array(key.utf8).data
            if options.prefix { $0.rangeEnd = EtcdKV.prefixEnd(Array(key.utf8)).data }
            $0.startRevision = next.withLockedValue { $0 }
            $0.prevKv = options.prevKV
            $0.progressNotify = options.progressNotify
          }
        }
        // A watchdog beside the call: if the stream stays silent (a frozen member keeps its TCP connection
        // open), the call is cancelled even if it is blocked somewhere no liveness write can reach.
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask {
            try await stub.watch(metadata: metadata) { writer in
              try await writer.write(create)
              while !Task.isCancelled {
                try await Task.sleep(for: options.livenessInterval)
                if lastAnswer.withLockedValue({ $0 }).duration(to: .now) > options.livenessInterval * 2 {
                  throw EtcdError(.timedOut, "watch stream silent for \(options.livenessInterval * 2)")
                }
                try await writer.write(.with { $0.progressRequest = .init() })
              }
            } onResponse: { response in
              for try await message in response.messages {
                lastAnswer.withLockedValue { $0 = .now }
                if message.canceled {
                  if message.compactRevision > 0 {
                    throw EtcdError(
                      .compacted,
                      "watch from revision \(next.withLockedValue { $0 }) cannot continue: compacted up to \(message.compactRevision)"
                    )
                  }
                  throw EtcdError(.serverError, "watch cancelled by etcd: \(message.cancelReason)")
                }
                if message.created {
                  next.withLockedValue { if $0 == 0 { $0 = message.header.revision + 1 } }
                  continue
                }
                let events = message.events.map { e in
                  EtcdWatchEvent(
                    kind: e.type == .delete ? .delete : .put, kv: EtcdKeyValue(e.kv),
                    previous: e.hasPrevKv ? EtcdKeyValue(e.prevKv) : nil)
                }
                if let last = events.last {
                  next.withLockedValue { $0 = last.kv.modRevision + 1 }
                } else {
                  // Progress: nothing at or below this revision is left to deliver.
                  next.withLockedValue { $0 = Swift.max($0, message.header.revision + 1) }
                  if !options.progressNotify { continue }
                }
                continuation.yield(EtcdWatchResponse(revision: message.header.revision, events: events))
                delivered.withLockedValue { $0 = true }
              }
            }
          }
          group.addTask {
            while true {
              try await Task.sleep(for: options.livenessInterval)
              if lastAnswer.withLockedValue({ $0 }).duration(to: .now) > options.livenessInterval * 3 {
                throw EtcdError(.timedOut, "watch stream silent for \(options.livenessInterval * 3)")
              }
            }
          }
          try await group.next()
          group.cancelAll()
        }
      } catch {
        if Task.isCancelled { break }
        let e = EtcdError.from(error, endpoint: slot.endpoint)
        if e.code == .compacted || e.code == .permissionDenied || e.code == .invalidArgument {
          continuation.finish(throwing: e)
          return
        }
        if e.isInvalidAuthToken { client.invalidateToken() }
        failuresInARow = delivered.withLockedValue { $0 } ? 1 : failuresInARow + 1
        client.endpointSet.advance(from: slot)
        reconnects.withLockedValue { $0 += 1 }
        // Back off a little once every endpoint has failed in a row.
        if failuresInARow >= client.endpointSet.count {
          try? await Task.sleep(for: .milliseconds(Swift.min(1000, 50 * failuresInARow)))
        }
      }
    }
    continuation.finish()
  }
}

extension EtcdClient {
  /// Watches a key (or a prefix) from a revision.
  public func watch(_ key: String, options: EtcdWatchOptions = EtcdWatchOptions()) -> EtcdWatch {
    EtcdWatch(client: self, key: key, options: options, reconnects: NIOLockedValueBox(0))
  }
}
