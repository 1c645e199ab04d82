import NIOConcurrencyHelpers
import NIOCore
import VigilCore
import VigilEtcd

/// `etcd.watch`: the time from a put until a watch delivers it — what a
/// controller waiting on etcd experiences. The watch starts at the revision
/// after the one read just before the put, so the event can never be missed
/// whether etcd delivers it live or from its history.
public final class EtcdWatchProbe: Sendable {
  public let name: String
  public let target: String
  let client: EtcdClient
  let key: String
  private let lease = ProbeLease()
  private let counter = NIOLockedValueBox(0)

  public init(name: String, target: String, client: EtcdClient) {
    self.name = name
    self.target = target
    self.client = client
    self.key = "/vigil/probe/\(target)/\(name)/watch"
  }

  public func run(timeout: TimeAmount) async -> ProbeResult {
    let c = client.withCallTimeout(timeout)
    var timer = StepTimer()
    let n = counter.withLockedValue { $0 += 1; return $0 }
    let value = "w\(n)"
    let deadline = ContinuousClock.now + .nanoseconds(timeout.nanoseconds)
    do throws(EtcdError) {
      let leaseID = try await timer.step("lease") { () async throws(EtcdError) in try await self.lease.id(c) }
      let before = try await timer.step("revision") { () async throws(EtcdError) in
        try await c.kv.range(self.key, countOnly: true).revision
      }
      let delivered = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
      let watch = c.watch(key, options: EtcdWatchOptions(startRevision: before + 1))
      let key = self.key
      let putStart = ContinuousClock.now
      let outcome: Result<Void, EtcdError> = await withTaskGroup(of: Result<Void, EtcdError>?.self) { group in
        group.addTask {
          do {
            for try await response in watch {
              if response.events.contains(where: { $0.kind == .put && $0.kv.valueString == value && $0.kv.keyString == key }) {
                delivered.withLockedValue { $0 = .now }
                return .success(())
              }
            }
            return .failure(EtcdError(.unavailable, "the watch ended before delivering the put"))
          } catch {
            return .failure(EtcdError(.unavailable, "the watch failed: \(error)"))
          }
        }
        group.addTask {
          try? await Task.sleep(until: deadline, clock: .continuous)
          return .failure(EtcdError(.timedOut, "the watch did not deliver the put within \(timeout.nanoseconds / 1_000_000) ms"))
        }
        group.addTask {
          do throws(EtcdError) {
            _ = try await c.kv.put(key, value, lease: leaseID)
            return nil
          } catch {
            return .failure(error)
          }
        }
        var result: Result<Void, EtcdError> = .failure(EtcdError(.timedOut, "no outcome"))
        while let next = await group.next() {
          guard let next else { continue }
          result = next
          break
        }
        group.cancelAll()
        return result
      }
      let deliveryLatency = delivered.withLockedValue { $0 }.map { putStart.duration(to: $0) }
      timer.steps.append(
        ProbeStep(name: "put→watch", latency: deliveryLatency ?? putStart.duration(to: .now), succeeded: deliveryLatency != nil))
      if case .failure(let error) = outcome { throw error }
      return ProbeResult(
        probe: name, target: target, status: .ok, failure: nil, message: "watch delivered the put",
        latency: timer.elapsed, steps: timer.steps,
        metrics: ["watch_delivery_seconds": deliveryLatency?.seconds ?? 0])
    } catch {
      lease.forget(after: error)
      return ProbeResult(
        probe: name, target: target, status: .critical, failure: ProbeFailureKind(error), message: error.description,
        latency: timer.elapsed, steps: timer.steps, metrics: [:])
    }
  }
}
