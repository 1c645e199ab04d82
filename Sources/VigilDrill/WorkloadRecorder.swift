import NIOCore
import VigilCore
import VigilEtcd
import VigilOracle

/// Several clients writing unique values, reading (linearizable and
/// serializable) and compare-and-swapping through a drill, each pinned to a
/// member or to the whole cluster. Every operation is recorded with its invoke
/// and complete times and its outcome: ok, failed (refused before it could take
/// effect) or unknown (timed out or cut off: it may have happened).
public actor WorkloadRecorder {
  public struct Client: Sendable {
    public var name: String
    public var client: EtcdClient
    public init(name: String, client: EtcdClient) {
      self.name = name
      self.client = client
    }
  }

  /// Keys under this prefix belong to the workload.
  public static let prefix = "/drill/"
  public nonisolated let registers: Int
  private let origin: ContinuousClock.Instant
  private var operations: [RecordedOperation] = []

  /// - Parameter origin: time zero of the recorded times.
  public init(origin: ContinuousClock.Instant, registers: Int = 16) {
    self.origin = origin
    self.registers = registers
  }

  public var history: [RecordedOperation] { operations }

  public nonisolated func registerKey(_ i: Int) -> String { "\(Self.prefix)r/\(i)" }
  public static func insertKey(client: String, seq: Int) -> String { "\(prefix)s/\(client)/\(seq)" }

  /// Runs every client until the task is cancelled.
  /// - Parameters:
  ///   - pace: the time between one client's operations.
  ///   - timeout: each operation's deadline; past it the outcome is unknown.
  public func run(_ clients: [Client], seed: UInt64, pace: Duration = .milliseconds(20), timeout: TimeAmount = .seconds(1))
    async
  {
    await withTaskGroup(of: Void.self) { group in
      for (i, c) in clients.enumerated() {
        group.addTask {
          await self.drive(c, random: SeededRandom(seed: seed &+ UInt64(i) &* 7919), pace: pace, timeout: timeout)
        }
      }
    }
  }

  /// Records an operation done outside the client loops (the final reads).
  public func record(_ op: RecordedOperation) -> RecordedOperation {
    var op = op
    op.id = operations.count
    operations.append(op)
    return op
  }

  public nonisolated func now() -> Double { (ContinuousClock.now - origin).seconds }

  private nonisolated func drive(_ c: Client, random: SeededRandom, pace: Duration, timeout: TimeAmount) async {
    var random = random
    var seq = 0
    var known: [Int: String] = [:]  // what this client last saw in each register
    let client = c.client.withCallTimeout(timeout)
    while !Task.isCancelled {
      let next = ContinuousClock.now + pace
      seq += 1
      let value = "\(c.name)-\(seq)"
      let r = Int.random(in: 0..<registers, using: &random)
      let key = registerKey(r)
      let roll = Int.random(in: 0..<100, using: &random)
      let t0 = now()
      var op: RecordedOperation
      switch roll {
      case 0..<25:
        let k = Self.insertKey(client: c.name, seq: seq)
        op = RecordedOperation(id: 0, client: c.name, kind: .insert, key: k, value: value, invokedAt: t0, completedAt: t0, outcome: .ok)
        do { _ = try await client.kv.put(k, value) } catch { Self.fail(&op, error) }
      case 25..<50:
        op = RecordedOperation(id: 0, client: c.name, kind: .put, key: key, value: value, invokedAt: t0, completedAt: t0, outcome: .ok)
        do {
          _ = try await client.kv.put(key, value)
          known[r] = value
        } catch { Self.fail(&op, error) }
      case 50..<85:
        let consistency: ReadConsistency = roll < 75 ? .linearizable : .serializable
        op = RecordedOperation(
          id: 0, client: c.name, kind: .get, key: key, consistency: consistency, invokedAt: t0, completedAt: t0,
          outcome: .ok)
        do {
          let kv = try await client.kv.get(key, consistency: consistency == .linearizable ? .linearizable : .serializable)
          op.read = kv.map { String(decoding: $0.value, as: UTF8.self) }
          if let v = op.read { known[r] = v }
        } catch { Self.fail(&op, error) }
      default:
        let expected = known[r]
        op = RecordedOperation(
          id: 0, client: c.name, kind: .cas, key: key, value: value, expected: expected, invokedAt: t0, completedAt: t0,
          outcome: .ok)
        let compare: EtcdCompare = expected.map { .value(key, .equal, $0) } ?? .createRevision(key, .equal, 0)
        do {
          let result = try await client.kv.txn([compare], success: [.put(key, value)])
          op.succeeded = result.succeeded
          if result.succeeded { known[r] = value } else { known[r] = nil }
        } catch { Self.fail(&op, error) }
      }
      op.completedAt = now()
      _ = await record(op)
      let wait = next - ContinuousClock.now
      if wait > .zero { try? await Task.sleep(for: wait) }
    }
  }

  /// Sorts an error into failed (it cannot have taken effect) or unknown (it may have).
  static func fail(_ op: inout RecordedOperation, _ error: any Error) {
    op.error = "\(error)"
    guard let e = error as? EtcdError else {
      op.outcome = .unknown
      return
    }
    switch e.code {
    case .unreachable, .invalidArgument, .permissionDenied, .authenticationFailed, .tlsFailure:
      op.outcome = .failed
    case .noSpace where op.kind != .get:
      // Not a clean refusal: the write that crosses the quota is applied and still answered NOSPACE
      // (found by this checker), so every NOSPACE answer to a write may or may not have taken effect.
      op.outcome = .unknown
    default:
      // A read that did not answer changed nothing; a write may have been applied.
      op.outcome = op.kind == .get ? .failed : .unknown
    }
  }
}
