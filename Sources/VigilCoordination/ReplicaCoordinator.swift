import Foundation
import Logging
import VigilCore
import VigilEtcd
import VigilLoops

/// One Vigil replica among several, coordinated through a management etcd cluster (no consensus of Vigil's
/// own): the replica registers under a lease (`PREFIX/replicas/ID`), the fleet's clusters are split into
/// shards (``ShardMap``), and each shard is owned by exactly one live replica through a key held under its
/// lease (`PREFIX/shards/N`). A replica that dies stops renewing: its lease expires after `ttl`, its keys go,
/// and the replicas that now score highest for its shards take them. A joining replica takes only its share;
/// the holder stops counting a shard as its own at once and deletes its key once nothing acts on it any more
/// (``observe(release:)``), so the joining replica takes it only then.
///
/// Fencing: a replica counts a shard as its own only while its lease is certainly alive — until the last
/// renewal it *sent* (every quarter of the TTL) plus the TTL, less a margin — so it stops acting before etcd can expire the lease and
/// hand the shard to another. Each step of a repair also passes ``fence(cluster:step:)``: one transaction
/// that holds only while the replica's ownership key is the same one (same create revision, same lease), and
/// that records the step once for the whole fleet.
public actor ReplicaCoordinator {
  public struct Settings: Sendable, Hashable {
    public var replicaID: String
    /// Lease TTL in seconds: a dead replica's shards move within it.
    public var ttl: Int64 = 5
    public var shards: Int = 64
    /// Key prefix in the management etcd.
    public var prefix: String = "/vigil/coordination/"
    /// How often the replica reads the fleet (the lease is renewed every quarter of its TTL besides).
    public var turn: Duration = .milliseconds(500)
    /// Time taken off the lease's life before the replica stops counting on it (clock rates, a slow turn).
    public var margin: Duration = .milliseconds(750)

    public init(replicaID: String, ttl: Int64 = 5, shards: Int = 64, prefix: String = "/vigil/coordination/") {
      self.replicaID = replicaID
      self.ttl = ttl
      self.shards = shards
      self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
    }
  }

  /// A shard this replica owns: its key, the key's create revision (the fencing token) and the lease.
  public struct Ownership: Sendable, Hashable {
    public var shard: Int
    public var key: String
    public var revision: Int64
    public var lease: Int64
  }

  public struct FenceError: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  public nonisolated let settings: Settings
  public nonisolated let map: ShardMap
  let client: EtcdClient
  let logger: Logger
  private var lease: EtcdLease?
  private var lastRenewal: ContinuousClock.Instant?
  private var validUntil: ContinuousClock.Instant?
  private var owned: [Int: Ownership] = [:]
  private var live: [String] = []
  /// Asked, each turn, whether shards given up may be handed over now (nothing acts on them any more).
  private var canRelease: (@Sendable (Set<Int>) async -> Bool)?
  /// Shards this replica no longer counts as its own but still holds the key of, until ``canRelease`` says.
  private var releasing: Set<Int> = []
  /// Told of shards just taken (the monitor starts guarding their clusters at once, not at its next turn).
  private var onTaken: (@Sendable (Set<Int>) async -> Void)?

  /// Vigil's own liveness: the renewal and balance loops report each turn (`coordination:renew`,
  /// `coordination:balance`), so a stalled one shows in `/healthz` and stops the watchdog's keep-alive.
  let liveness: Liveness?

  public init(
    client: EtcdClient, settings: Settings, liveness: Liveness? = nil, logger: Logger = Logger(label: "vigil.coordination")
  ) {
    self.client = client
    self.settings = settings
    self.map = ShardMap(shards: settings.shards)
    self.liveness = liveness
    self.logger = logger
  }

  static let renewLoop = "coordination:renew"
  static let balanceLoop = "coordination:balance"

  /// `release`: whether shards may be handed over now (default: at once).
  public func observe(release: @escaping @Sendable (Set<Int>) async -> Bool) { canRelease = release }

  /// `taken`: called with the shards each turn took.
  public func observe(taken: @escaping @Sendable (Set<Int>) async -> Void) { onTaken = taken }

  var replicasPrefix: String { settings.prefix + "replicas/" }
  var shardsPrefix: String { settings.prefix + "shards/" }
  func shardKey(_ shard: Int) -> String { shardsPrefix + String(shard) }
  public var stepsPrefix: String { settings.prefix + "steps/" }

  // MARK: what the rest of Vigil asks

  /// The shards owned now (only while the lease is certainly alive).
  public var ownedShards: Set<Int> {
    guard isValid else { return [] }
    return Set(owned.keys)
  }

  /// When the last successful renewal was sent.
  public var lastRenewalSent: ContinuousClock.Instant? { lastRenewal }

  /// This replica's ownership of `cluster`'s shard, or nil.
  public func ownership(of cluster: String) -> Ownership? {
    guard isValid else { return nil }
    return owned[map.shard(of: cluster)]
  }

  public func owns(_ cluster: String) -> Bool { ownership(of: cluster) != nil }

  var isValid: Bool { validUntil.map { ContinuousClock.now < $0 } ?? false }

  /// Records `step` (a key under `steps/`, e.g. `cluster/plan/step`) for the whole fleet, in one transaction
  /// that holds only while this replica still owns `cluster`'s shard through the same key and lease.
  /// - Returns: true when this call recorded it; false when it was recorded before (by this replica or a
  ///   dead one: the step already began, the resume logic decides).
  /// - Throws: ``FenceError`` when the replica does not own the shard (it must not act).
  public func fence(cluster: String, step: String) async throws -> Bool {
    guard let o = ownership(of: cluster) else {
      throw FenceError(description: "replica \(settings.replicaID) does not own \(cluster) (shard \(map.shard(of: cluster)))")
    }
    let stepKey = stepsPrefix + step
    let result: EtcdTxnResult
    do {
      result = try await client.kv.txn(
        [.createRevision(o.key, .equal, o.revision), .lease(o.key, .equal, o.lease), .createRevision(stepKey, .equal, 0)],
        success: [.put(stepKey, settings.replicaID)],
        failure: [.get(o.key), .get(stepKey)])
    } catch {
      // Unreachable: this replica counts on none of its shards until a renewal gets through again (so it neither
      // plans nor resumes anything in the meantime, only to be stopped by the fence).
      validUntil = nil
      throw FenceError(description: "cannot check the ownership of \(cluster) in the management etcd: \(error)")
    }
    if result.succeeded { return true }
    // Which compare failed: the ownership (stop) or only the step's (already begun: go on, it re-checks).
    var holder: EtcdKeyValue?
    for case .range(let r) in result.results {
      if let kv = r.kvs.first(where: { $0.keyString == o.key }) { holder = kv }
    }
    guard let holder, holder.createRevision == o.revision, holder.lease == o.lease else {
      owned[o.shard] = nil
      throw FenceError(
        description: "replica \(settings.replicaID) lost shard \(o.shard) of \(cluster) (now \(holder?.valueString ?? "nobody"))")
    }
    return false
  }

  /// A plan ended: its step records go.
  public func forget(cluster: String, plan: Int64) async {
    _ = try? await client.kv.delete(stepsPrefix + "\(cluster)/\(plan)/", prefix: true)
  }

  /// What this replica knows of the fleet, for the API.
  public struct Status: Sendable, Codable, Hashable {
    public var replica: String
    public var replicas: [String]
    public var shards: Int
    public var ownedShards: [Int]
    /// Whether the replica's lease is certainly alive (false: it acts on nothing).
    public var leaseValid: Bool
  }

  public var status: Status {
    Status(
      replica: settings.replicaID, replicas: live, shards: settings.shards, ownedShards: ownedShards.sorted(), leaseValid: isValid)
  }

  // MARK: the loop

  /// Renews the lease and balances the shards, each in a loop of its own (a slow read of the fleet never
  /// delays a renewal), until cancelled; then gives its shards back at once (revokes its lease) if it can.
  /// - Parameter leaving: revoke the lease on the way out (a graceful stop); false leaves it to expire, as
  ///   a killed process does (benchmarks and drills).
  public func run(leaving: Bool = true) async {
    let liveness = self.liveness
    // A turn may wait out its calls' timeouts (5 s each, two or three reads and writes a balance turn).
    liveness?.register(Self.renewLoop, period: renewalInterval / 2 + .seconds(6))
    liveness?.register(Self.balanceLoop, period: settings.turn + .seconds(16))
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        while !Task.isCancelled {
          await self.keepLease()
          liveness?.turned(Self.renewLoop)
          try? await Task.sleep(for: self.renewalInterval / 2)
        }
      }
      group.addTask {
        while !Task.isCancelled {
          await self.balanceTurn()
          liveness?.turned(Self.balanceLoop)
          try? await Task.sleep(for: self.settings.turn)
        }
      }
      await group.waitForAll()
    }
    liveness?.remove(Self.renewLoop)
    liveness?.remove(Self.balanceLoop)
    if leaving { await leave() }
  }

  /// How often the lease is renewed: a quarter of its TTL.
  nonisolated var renewalInterval: Duration { .milliseconds(settings.ttl * 1000 / 4) }

  /// Revokes the lease: every key the replica held goes at once (a graceful stop hands over without waiting
  /// for the TTL).
  public func leave() async {
    owned = [:]
    releasing = []
    validUntil = nil
    if let lease { try? await client.lease.revoke(lease.id) }
    lease = nil
  }

  /// One turn (tests drive these by hand): renew (or take) the lease when due, read the live replicas and the
  /// shard keys, hand over what is no longer ours, take what is.
  public func turn() async {
    await keepLease()
    await balanceTurn()
  }

  /// Drops everything when the lease is no longer certain; otherwise balances.
  func balanceTurn() async {
    if !isValid {
      if !owned.isEmpty {
        logger.warning(
          "lease no longer certain: stopping on every shard", metadata: ["replica": "\(settings.replicaID)", "shards": "\(owned.count)"])
        owned = [:]
      }
      releasing = []
    } else {
      do { try await balance() } catch {
        logger.warning("cannot read the fleet from the management etcd", metadata: ["error": "\(error)"])
      }
    }
  }

  func keepLease() async {
    let ttl = Duration.seconds(settings.ttl)
    if let current = lease {
      let due = (lastRenewal.map { ContinuousClock.now - $0 } ?? ttl) >= renewalInterval
      guard due else { return }
      let sent = ContinuousClock.now
      do {
        let ttls = try await client.lease.renew([current.id], timeout: renewalInterval)
        if let left = ttls[current.id], left > 0 {
          lastRenewal = sent
          validUntil = sent + .seconds(left) - settings.margin
        } else {
          logger.warning("lease expired", metadata: ["replica": "\(settings.replicaID)", "lease": "\(current.id)"])
          lease = nil
          validUntil = nil
        }
      } catch {
        // Not renewed this time: the lease's certain life decides when to stop.
      }
      return
    }
    let sent = ContinuousClock.now
    do {
      let granted = try await client.lease.grant(ttl: settings.ttl)
      _ = try await client.kv.put(replicasPrefix + settings.replicaID, settings.replicaID, lease: granted.id)
      lease = granted
      lastRenewal = sent
      validUntil = sent + .seconds(granted.ttl) - settings.margin
      logger.info("registered", metadata: ["replica": "\(settings.replicaID)", "lease": "\(granted.id)"])
    } catch {
      logger.warning("cannot register in the management etcd", metadata: ["error": "\(error)"])
    }
  }

  func balance() async throws {
    guard let lease else { return }
    let replicaKeys = try await client.kv.range(replicasPrefix, prefix: true).kvs
    var ids = replicaKeys.map { String($0.keyString.dropFirst(replicasPrefix.count)) }
    if !ids.contains(settings.replicaID) {
      // Our registration is gone though the lease renews (deleted by hand): put it back.
      _ = try await client.kv.put(replicasPrefix + settings.replicaID, settings.replicaID, lease: lease.id)
      ids.append(settings.replicaID)
    }
    live = ids.sorted()
    var holders: [Int: EtcdKeyValue] = [:]
    for kv in try await client.kv.range(shardsPrefix, prefix: true).kvs {
      if let n = Int(kv.keyString.dropFirst(shardsPrefix.count)) { holders[n] = kv }
    }
    let desired = map.shards(of: settings.replicaID, among: live)
    // Hand over: stop counting the shard as ours at once (the fence refuses from now on), delete its key
    // once nothing here acts on it any more (a step under way ends first), never blocking the turn (the
    // lease must keep being renewed meanwhile).
    let leaving = Set(owned.keys).subtracting(desired)
    for s in leaving { owned[s] = nil }
    releasing.formUnion(leaving)
    releasing.subtract(desired)  // wanted back before it went (the newcomer left): adopted again below
    if !releasing.isEmpty, await canRelease?(releasing) ?? true {
      for s in releasing.sorted() {
        _ = try await client.kv.txn([.lease(shardKey(s), .equal, lease.id)], success: [.delete(shardKey(s))])
      }
      logger.info("handed over", metadata: ["replica": "\(settings.replicaID)", "shards": "\(releasing.sorted())"])
      releasing = []
    }
    var taken: [Int] = []
    for s in desired.sorted() where owned[s] == nil {
      if let h = holders[s] {
        // Ours already (a turn that lost its answer, a shard wanted back), or another's still: it hands
        // over or expires.
        if h.lease == lease.id { owned[s] = Ownership(shard: s, key: shardKey(s), revision: h.createRevision, lease: lease.id) }
        continue
      }
      let key = shardKey(s)
      let r = try await client.kv.txn(
        [.createRevision(key, .equal, 0)], success: [.put(key, settings.replicaID, lease: lease.id)], failure: [])
      if r.succeeded {
        owned[s] = Ownership(shard: s, key: key, revision: r.revision, lease: lease.id)
        taken.append(s)
      }
    }
    if !taken.isEmpty {
      logger.info("took shards", metadata: ["replica": "\(settings.replicaID)", "shards": "\(taken)"])
      await onTaken?(Set(taken))
    }
  }
}
