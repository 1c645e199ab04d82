import Foundation
import Logging
import ServiceLifecycle
import VigilAPI
import VigilMonitor
import VigilRepair
import VigilRuntime

/// Writes every cluster's published endpoints to a file whenever they change (checked every
/// `interval`), atomically and durably (``DurableFile``), for tools that template client flags such as
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
          try DurableFile.write(data, to: path)
          last = data
        } catch {
          logger.error(
            "cannot write the endpoints file", metadata: ["path": "\(path)", "error": "\(error)"])
        }
      }
      try await Task.sleep(for: interval)
    }
  }


}
