import Crypto
import Foundation
import VigilEtcd

/// One key's change in a change-log record.
public struct ChangeEvent: Sendable, Hashable, Codable {
  public enum Kind: String, Sendable, Hashable, Codable { case put, delete }
  public var kind: Kind
  public var key: Data
  /// The new value (empty for a delete).
  public var value: Data
  /// The lease the key is attached to (0: none).
  public var lease: Int64
  /// The value before the change (watch `prev_kv`), when etcd still had it.
  public var previous: Data?

  public init(kind: Kind, key: Data, value: Data = Data(), lease: Int64 = 0, previous: Data? = nil) {
    self.kind = kind
    self.key = key
    self.value = value
    self.lease = lease
    self.previous = previous
  }
}

/// Every change etcd made at one store revision (one transaction), as the change log persists it.
public struct ChangeRecord: Sendable, Hashable, Codable {
  public var revision: Int64
  /// When Vigil received it (seconds since 1970): what a restore to a point in time compares.
  public var receivedAt: Double
  public var events: [ChangeEvent]

  public init(revision: Int64, receivedAt: Double, events: [ChangeEvent]) {
    self.revision = revision
    self.receivedAt = receivedAt
    self.events = events
  }

  /// Splits a watch response into one record per revision (etcd may batch several revisions in a response).
  public static func records(from response: EtcdWatchResponse, receivedAt: Double) -> [ChangeRecord] {
    var records: [ChangeRecord] = []
    for event in response.events {
      let change = ChangeEvent(
        kind: event.kind == .delete ? .delete : .put, key: Data(event.kv.key),
        value: event.kind == .delete ? Data() : Data(event.kv.value), lease: event.kind == .delete ? 0 : event.kv.lease,
        previous: event.previous.map { Data($0.value) })
      if records.last?.revision == event.kv.modRevision {
        records[records.count - 1].events.append(change)
      } else {
        records.append(ChangeRecord(revision: event.kv.modRevision, receivedAt: receivedAt, events: [change]))
      }
    }
    return records
  }
}

/// The change log's segment format: one record a line, `CHECKSUM JSON\n`, where CHECKSUM is the first
/// 8 bytes of the JSON's sha256 in hex. A torn last line (a crash mid-write) or a damaged line ends the
/// readable part; the reader reports where.
public enum ChangeLogFormat {
  static let encoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return e
  }()

  public static func encode(_ record: ChangeRecord) -> Data {
    let json = (try? encoder.encode(record)) ?? Data()  // encoding plain data cannot fail
    var line = Data(checksum(json).utf8)
    line.append(0x20)
    line.append(json)
    line.append(0x0A)
    return line
  }

  static func checksum(_ data: Data) -> String {
    SHA256.hash(data: data).prefix(8).map { String(format: "%02x", $0) }.joined()
  }

  /// The records of a segment, in order, and where reading stopped early (a torn or damaged line), if it did.
  public static func decode(_ data: Data) -> (records: [ChangeRecord], damage: String?, validBytes: Int) {
    var records: [ChangeRecord] = []
    var offset = data.startIndex
    let decoder = JSONDecoder()
    var line = 0
    while offset < data.endIndex {
      line += 1
      guard let newline = data[offset...].firstIndex(of: 0x0A) else {
        return (records, "line \(line) is torn (no newline: a write cut short)", offset - data.startIndex)
      }
      let text = data[offset..<newline]
      guard text.count > 17, text[text.startIndex + 16] == 0x20 else {
        return (records, "line \(line) has no checksum", offset - data.startIndex)
      }
      let sum = String(decoding: text.prefix(16), as: UTF8.self)
      let json = Data(text.dropFirst(17))
      guard checksum(json) == sum else {
        return (records, "line \(line) fails its checksum", offset - data.startIndex)
      }
      guard let record = try? decoder.decode(ChangeRecord.self, from: json) else {
        return (records, "line \(line) is not a change record", offset - data.startIndex)
      }
      if let last = records.last, record.revision <= last.revision {
        return (records, "line \(line) goes back from revision \(last.revision) to \(record.revision)", offset - data.startIndex)
      }
      records.append(record)
      offset = newline + 1
    }
    return (records, nil, data.count)
  }
}
