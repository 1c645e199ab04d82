import ServiceLifecycle

/// The replica's coordination loop as a service: turns until the service group shuts down, then hands its
/// shards over at once (revokes its lease).
public struct CoordinationService: Service {
  public let coordinator: ReplicaCoordinator

  public init(coordinator: ReplicaCoordinator) { self.coordinator = coordinator }

  public func run() async throws {
    try? await cancelWhenGracefulShutdown { await coordinator.run() }
  }
}
