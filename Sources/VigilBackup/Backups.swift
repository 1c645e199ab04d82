import Foundation
import VigilCore

/// Every guarded cluster's backups, run together: ``run()`` holds each cluster's loops as children of one task
/// group (the engine's service); ``start()``/``stop()`` run it in one task for drills and tests.
public actor Backups {
  public nonisolated let clusters: [String: ClusterBackup]
  /// Standby mirrors, by primary cluster name.
  public nonisolated let mirrors: [String: StandbyMirror]
  private var runner: Task<Void, Never>?

  public init(_ clusters: [ClusterBackup], mirrors: [StandbyMirror] = []) {
    self.clusters = Dictionary(uniqueKeysWithValues: clusters.map { ($0.cluster, $0) })
    self.mirrors = Dictionary(uniqueKeysWithValues: mirrors.map { ($0.cluster, $0) })
  }

  /// Runs until cancelled — also with nothing to back up, since a service that returns early ends its group.
  public nonisolated func run() async {
    guard !clusters.isEmpty || !mirrors.isEmpty else {
      while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
      return
    }
    await withTaskGroup(of: Void.self) { group in
      for backup in clusters.values { group.addTask { await backup.run() } }
      for mirror in mirrors.values { group.addTask { await mirror.run() } }
      await group.waitForAll()
    }
  }

  public func start() {
    guard runner == nil else { return }
    runner = Task { await self.run() }
  }

  public func stop() async {
    guard let runner else { return }
    runner.cancel()
    await runner.value
    self.runner = nil
  }

  /// Every standby's status, by primary name.
  public func standbyStatuses() async -> [StandbyStatus] {
    var out: [StandbyStatus] = []
    for name in mirrors.keys.sorted() { out.append(await mirrors[name]!.status) }
    return out
  }

  /// Every cluster's backup status, by name.
  public func statuses() async -> [BackupStatus] {
    var out: [BackupStatus] = []
    for name in clusters.keys.sorted() { out.append(await clusters[name]!.status) }
    return out
  }
}
