import Foundation
import VigilCore

/// The open end of a cluster's change log. Records arrive in revision order; ``flush()`` writes them to the
/// open segment file and fsyncs it (the loss window is the time between flushes); ``seal(force:now:)`` stores
/// the open segment as `CLUSTER/changelog/FIRST-LAST.log` and starts a new one. After a restart
/// ``resume()`` reads the open file back (dropping a torn last line) and continues after its last revision.
public actor ChangeLogWriter {
  public let cluster: String
  public let store: any BackupStore
  /// The open segment file.
  public let openFile: String
  /// Seal when the open segment is this old or this big.
  public let segmentSpan: Duration
  public let segmentBytes: Int

  private var pending = Data()
  private var pendingRecords: [ChangeRecord] = []
  private var openFirst: Int64?
  private var openBytes = 0
  private var openedAt: Double?
  /// The newest revision persisted (flushed), and the newest accepted.
  public private(set) var persistedRevision: Int64 = 0
  public private(set) var persistedAt: Double?
  private var acceptedRevision: Int64 = 0
  /// Events and bytes persisted since ``resetSinceSnapshot()``.
  public private(set) var eventsSinceSnapshot = 0
  public private(set) var bytesSinceSnapshot: Int64 = 0

  public init(cluster: String, store: any BackupStore, spool: String, segmentSpan: Duration, segmentBytes: Int = 16 << 20)
  {
    self.cluster = cluster
    self.store = store
    self.openFile = (spool as NSString).appendingPathComponent("open.log")
    self.segmentSpan = segmentSpan
    self.segmentBytes = segmentBytes
  }

  /// Reads what persisted before a restart: the open file's records (a torn tail is cut off) and the newest
  /// sealed segment. Returns the last persisted revision (0: none).
  public func resume() async throws -> Int64 {
    try? FileManager.default.createDirectory(
      atPath: (openFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    var last: Int64 = 0
    if let newest = try await BackupCatalogue(store: store, cluster: cluster).segments().last {
      last = newest.lastRevision
    }
    if let data = FileManager.default.contents(atPath: openFile) {
      let decoded = ChangeLogFormat.decode(data)
      if decoded.damage != nil {
        // Keep the readable part: a crash mid-write leaves a torn last line.
        try decoded.records.reduce(into: Data()) { $0.append(ChangeLogFormat.encode($1)) }.write(to: URL(fileURLWithPath: openFile))
      }
      let fresh = decoded.records.filter { $0.revision > last }
      if fresh.count != decoded.records.count {
        // Already sealed before the restart (the seal stored it but the file was not yet cleared).
        try fresh.reduce(into: Data()) { $0.append(ChangeLogFormat.encode($1)) }.write(to: URL(fileURLWithPath: openFile))
      }
      if let first = fresh.first {
        openFirst = first.revision
        openedAt = first.receivedAt
        openBytes = fresh.reduce(0) { $0 + ChangeLogFormat.encode($1).count }
        last = max(last, fresh.last!.revision)
      }
    }
    persistedRevision = last
    acceptedRevision = last
    return last
  }

  /// Accepts records (revisions above the last accepted one; older ones are dropped as already held).
  public func append(_ records: [ChangeRecord]) {
    for r in records where r.revision > acceptedRevision {
      pending.append(ChangeLogFormat.encode(r))
      pendingRecords.append(r)
      acceptedRevision = r.revision
    }
  }

  /// Writes and fsyncs what was accepted since the last flush.
  public func flush(now: Double) throws {
    guard !pendingRecords.isEmpty else { return }
    if !FileManager.default.fileExists(atPath: openFile) {
      _ = FileManager.default.createFile(atPath: openFile, contents: nil)
    }
    guard let handle = FileHandle(forWritingAtPath: openFile) else {
      throw BackupError("\(cluster): cannot open the change log \(openFile)")
    }
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: pending)
    try handle.synchronize()
    if openFirst == nil {
      openFirst = pendingRecords.first!.revision
      openedAt = now
    }
    openBytes += pending.count
    bytesSinceSnapshot += Int64(pending.count)
    eventsSinceSnapshot += pendingRecords.reduce(0) { $0 + $1.events.count }
    persistedRevision = pendingRecords.last!.revision
    persistedAt = now
    pending.removeAll(keepingCapacity: true)
    pendingRecords.removeAll(keepingCapacity: true)
  }

  /// Stores the open segment when it is old or big enough (or `force`), then starts a new one.
  /// - Returns: the sealed segment, if one was.
  @discardableResult
  public func seal(force: Bool = false, now: Double) async throws -> SegmentInfo? {
    try flush(now: now)
    guard let first = openFirst, let openedAt else { return nil }
    guard force || openBytes >= segmentBytes || now - openedAt >= segmentSpan.seconds else { return nil }
    let key = BackupLayout.segmentKey(cluster, first: first, last: persistedRevision)
    try await store.put(key, file: openFile)
    try? FileManager.default.removeItem(atPath: openFile)
    let sealed = SegmentInfo(key: key, firstRevision: first, lastRevision: persistedRevision, size: Int64(openBytes))
    openFirst = nil
    self.openedAt = nil
    openBytes = 0
    return sealed
  }

  /// The records flushed to the open segment but not sealed yet (a restore in this process reads them).
  public func openRecords() -> [ChangeRecord] {
    guard let data = FileManager.default.contents(atPath: openFile) else { return [] }
    return ChangeLogFormat.decode(data).records
  }

  /// Continues after `revision` (a full snapshot closed a gap in the log).
  public func skip(to revision: Int64) {
    acceptedRevision = max(acceptedRevision, revision)
  }

  /// A new full snapshot covers everything so far.
  public func resetSinceSnapshot() {
    eventsSinceSnapshot = 0
    bytesSinceSnapshot = 0
  }
}
