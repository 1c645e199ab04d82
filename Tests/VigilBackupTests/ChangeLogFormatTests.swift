import Foundation
import Testing
import VigilBackup
import VigilTestKit

@Suite struct ChangeLogFormatTests {
  static func record(_ revision: Int64) -> ChangeRecord {
    ChangeRecord(
      revision: revision, receivedAt: Double(revision),
      events: [ChangeEvent(kind: .put, key: Data("/k/\(revision)".utf8), value: Data([0, 255, 10])), ChangeEvent(kind: .delete, key: Data([0xff, 0]))])
  }

  @Test func recordsRoundTripWithBinaryKeysAndValues() {
    let data = (1...3).reduce(into: Data()) { $0.append(ChangeLogFormat.encode(Self.record(Int64($1)))) }
    let decoded = ChangeLogFormat.decode(data)
    #expect(decoded.damage == nil)
    #expect(decoded.records == (1...3).map { Self.record(Int64($0)) })
  }

  @Test func aTornOrDamagedLineEndsTheReadablePartAndIsNamed() {
    let good = ChangeLogFormat.encode(Self.record(1)) + ChangeLogFormat.encode(Self.record(2))
    let torn = good + ChangeLogFormat.encode(Self.record(3)).dropLast(5)
    let t = ChangeLogFormat.decode(torn)
    #expect(t.records.map(\.revision) == [1, 2])
    #expect(t.damage?.contains("line 3 is torn") == true)
    #expect(t.validBytes == good.count)
    var flipped = ChangeLogFormat.encode(Self.record(1))
    flipped[40] ^= 0x01
    let f = ChangeLogFormat.decode(flipped + ChangeLogFormat.encode(Self.record(2)))
    #expect(f.records.isEmpty)
    #expect(f.damage?.contains("fails its checksum") == true)
    let backwards = ChangeLogFormat.decode(ChangeLogFormat.encode(Self.record(2)) + ChangeLogFormat.encode(Self.record(1)))
    #expect(backwards.damage?.contains("goes back") == true)
  }

  @Test func theWriterResumesAfterATornTailAndSealsIntoTheStore() async throws {
    try await withTemporaryDirectory { dir in
      let store = LocalBackupStore(root: dir + "/store")
      let writer = ChangeLogWriter(cluster: "c", store: store, spool: dir + "/spool", segmentSpan: .seconds(60))
      #expect(try await writer.resume() == 0)
      await writer.append([Self.record(5), Self.record(6)])
      try await writer.flush(now: 10)
      #expect(await writer.persistedRevision == 6)
      // A crash mid-write leaves half a line.
      let handle = try #require(FileHandle(forWritingAtPath: dir + "/spool/open.log"))
      try handle.seekToEnd()
      try handle.write(contentsOf: ChangeLogFormat.encode(Self.record(7)).prefix(20))
      try handle.close()
      let again = ChangeLogWriter(cluster: "c", store: store, spool: dir + "/spool", segmentSpan: .seconds(60))
      #expect(try await again.resume() == 6)
      await again.append([Self.record(6), Self.record(7)])  // 6 is already held
      #expect(try await again.seal(now: 20) == nil)  // not due yet
      let sealed = try #require(try await again.seal(force: true, now: 20))
      #expect(sealed.firstRevision == 5 && sealed.lastRevision == 7)
      let stored = ChangeLogFormat.decode(try await store.data(sealed.key))
      #expect(stored.damage == nil && stored.records.map(\.revision) == [5, 6, 7])
      let third = ChangeLogWriter(cluster: "c", store: store, spool: dir + "/spool", segmentSpan: .seconds(60))
      #expect(try await third.resume() == 7)
    }
  }
}
