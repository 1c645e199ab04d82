import Foundation
import Logging
import ServiceLifecycle
import VigilAPI
import VigilMonitor
import VigilRepair

/// Writes every cluster's published endpoints to a file whenever they change (checked every
/// `interval`), atomically (a temporary file renamed over it), for tools that template client flags such as
/// kube-apiserver's `--etcd-servers` from it.
struct EndpointsFileService: Service {
  let path: String
  let monitor: Monitor
  let repairs: RepairCoordinator
  var interval: Duration = .milliseconds(500)
  let logger: Logger

  func run() async throws {
    try? await cancelWhenGracefulShutdown { try await publish() }
  }

  private func publish() async throws {
    var last: Data?
    while !Task.isCancelled {
      let published = await HTTPAPI.published(monitor: monitor, repairs: repairs)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      if let data = try? encoder.encode(published), data != last {
        do {
          try Self.write(data, to: path)
          last = data
        } catch {
          logger.error(
            "cannot write the endpoints file", metadata: ["path": "\(path)", "error": "\(error)"])
        }
      }
      try await Task.sleep(for: interval)
    }
  }

  static func write(_ data: Data, to path: String) throws {
    let temporary = path + ".tmp"
    guard FileManager.default.createFile(atPath: temporary, contents: data) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
    }
    if rename(temporary, path) != 0 {
      throw CocoaError(
        .fileWriteUnknown,
        userInfo: [
          NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "rename failed: errno \(errno)",
        ])
    }
  }
}
