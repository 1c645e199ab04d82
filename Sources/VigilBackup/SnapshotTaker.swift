import Crypto
import Foundation
import VigilCore
import VigilEtcd

/// Takes full snapshots: picks a healthy member (a follower when one answers, so the leader keeps its
/// I/O), streams its backend through the Maintenance snapshot call into a spool file, checks etcd's trailing
/// sha256, fsyncs, and stores the file with its metadata. The stored file is exactly etcd's stream: plain
/// `etcdctl snapshot restore` reads it.
public struct SnapshotTaker: Sendable {
  public let cluster: String
  public let client: EtcdClient
  public let store: any BackupStore
  /// A local directory for the file while it streams.
  public let spool: String

  public init(cluster: String, client: EtcdClient, store: any BackupStore, spool: String) {
    self.cluster = cluster
    self.client = client
    self.store = store
    self.spool = spool
  }

  /// The member to stream from: a voting follower that answers, else the leader, else any member that answers.
  public func source() async throws -> (member: EtcdMember, endpoint: EtcdEndpoint, status: EtcdMemberStatus) {
    let members: [EtcdMember]
    do { members = try await client.cluster.list() } catch {
      throw BackupError("\(cluster): cannot list the members to pick a snapshot source: \(error.message)")
    }
    var candidates: [(EtcdMember, EtcdEndpoint)] = []
    for m in members where !m.isLearner {
      if let url = m.clientURLs.first, let endpoint = try? EtcdEndpoint(parsing: url) { candidates.append((m, endpoint)) }
    }
    let statuses = await client.statuses(of: candidates.map(\.1), timeout: .seconds(2))
    var answered: [(EtcdMember, EtcdEndpoint, EtcdMemberStatus)] = []
    for (i, result) in statuses.enumerated() {
      if case .success(let s) = result, s.leader != 0, s.errors.isEmpty {
        answered.append((candidates[i].0, candidates[i].1, s))
      }
    }
    guard let pick = answered.first(where: { !$0.2.isLeader }) ?? answered.first else {
      throw BackupError("\(cluster): no member answers with a leader; no snapshot can be taken")
    }
    return pick
  }

  /// Streams, checks and stores one snapshot.
  /// - Returns: its record (verification pending).
  public func take(reason: SnapshotReason, now: Date = Date()) async throws -> SnapshotRecord {
    let (member, endpoint, status) = try await source()
    let id = Self.id(now)
    try? FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
    let file = (spool as NSString).appendingPathComponent("\(id).db")
    defer { try? FileManager.default.removeItem(atPath: file) }
    let pinned = client.member(endpoint)
    let size: Int64
    do {
      size = try await pinned.maintenance.snapshot(to: file)
      await pinned.shutdown()
    } catch {
      await pinned.shutdown()
      throw BackupError("\(cluster): the snapshot stream from \(member.name) failed: \(error.message)")
    }
    let digest = try Self.checkTrailingDigest(file)
    try LocalBackupStore.fsync(path: file)
    var record = SnapshotRecord(
      id: id, cluster: cluster, clusterID: String(status.clusterID, radix: 16), member: member.name,
      revisionAtStart: status.revision, size: size, sha256: digest, etcdVersion: status.version,
      takenAt: now.timeIntervalSince1970, reason: reason)
    record.verification = .pending
    try await store.put(BackupLayout.snapshotKey(cluster, id), file: file)
    try await BackupCatalogue(store: store, cluster: cluster).save(record)
    return record
  }

  /// etcd ends the snapshot stream with the sha256 of everything before it; a stream cut short or damaged
  /// fails here, before anything is stored.
  /// - Returns: that digest, hex.
  static func checkTrailingDigest(_ file: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: file) else { throw BackupError("cannot read \(file)") }
    defer { try? handle.close() }
    let size = (try? handle.seekToEnd()) ?? 0
    guard size > 32 else { throw BackupError("the snapshot stream is only \(size) bytes") }
    try? handle.seek(toOffset: 0)
    var hasher = SHA256()
    var remaining = size - 32
    while remaining > 0 {
      let chunk = handle.readData(ofLength: Int(min(remaining, 4 << 20)))
      if chunk.isEmpty { break }
      hasher.update(data: chunk)
      remaining -= UInt64(chunk.count)
    }
    let trailer = handle.readData(ofLength: 32)
    let computed = Data(hasher.finalize())
    guard computed == trailer else {
      throw BackupError("the snapshot's trailing sha256 does not match its content (the stream was damaged)")
    }
    return computed.map { String(format: "%02x", $0) }.joined()
  }

  /// A sortable id from the time: `20261130T142500.123Z`.
  public static func id(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
    return f.string(from: date)
  }
}

/// A backup failed; the message names the cluster and the step.
public struct BackupError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
