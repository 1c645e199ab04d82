import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM (Ctrl-C, `kill`).
enum SignalWaiter {
  static func signals() -> AsyncStream<Int32> {
    AsyncStream { continuation in
      let sources = [SIGINT, SIGTERM].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { continuation.yield(sig) }
        source.resume()
        return source
      }
      let box = SourceBox(sources: sources)
      continuation.onTermination = { _ in box.sources.forEach { $0.cancel() } }
    }
  }
}

/// Keeps the signal sources alive for as long as the stream is.
private final class SourceBox: @unchecked Sendable {
  // Only read once, in onTermination.
  let sources: [any DispatchSourceSignal]
  init(sources: [any DispatchSourceSignal]) { self.sources = sources }
}
