import NIOCore
import VigilCore
import VigilEtcd

/// `grpc-health`: asks a gRPC server's standard health service
/// (`grpc.health.v1.Health/Check`) whether `service` is SERVING. etcd serves
/// it on its client port, and so do many components built on gRPC.
public struct GRPCHealthProbe: Sendable {
  public let name: String
  public let target: String
  public let service: String
  let client: EtcdClient

  /// - Parameter client: a client for the server's address (any gRPC server, not only etcd).
  public init(name: String, target: String, client: EtcdClient, service: String = "") {
    self.name = name
    self.target = target
    self.client = client
    self.service = service
  }

  public func run(timeout: TimeAmount) async -> ProbeResult {
    var timer = StepTimer()
    let c = client.withCallTimeout(timeout)
    do {
      let status = try await timer.step("check") { () async throws(EtcdError) in
        try await c.health.check(service: self.service)
      }
      let label = service.isEmpty ? "server" : "service \"\(service)\""
      let ok = status == .serving
      return ProbeResult(
        probe: name, target: target, status: ok ? .ok : .critical, failure: ok ? nil : .badAnswer,
        message: "\(label) is \(status)", latency: timer.elapsed, steps: timer.steps,
        metrics: ["serving": ok ? 1 : 0])
    } catch {
      return ProbeResult(
        probe: name, target: target, status: .critical, failure: ProbeFailureKind(error), message: error.description,
        latency: timer.elapsed, steps: timer.steps, metrics: [:])
    }
  }
}
