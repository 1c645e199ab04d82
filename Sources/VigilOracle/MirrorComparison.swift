/// One key as a range read returns it, for comparing a primary with its standby.
public struct StoredKey: Sendable, Hashable {
  public var key: String
  public var value: String
  public var createRevision: Int64
  public var modRevision: Int64
  public var version: Int64
  public var lease: Int64

  public init(key: String, value: String, createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64) {
    self.key = key
    self.value = value
    self.createRevision = createRevision
    self.modRevision = modRevision
    self.version = version
    self.lease = lease
  }
}

/// Whether a standby holds exactly what its primary held at one revision: every key with its value and its
/// lease id; for keys created after `since` (mirrored change by change — a seeding copies a key and cannot
/// carry its history) also its version, where a change applied twice or missed shows; and every revision on
/// the standby ahead of the primary's (the mirror's offset only grows: it moves when a revision is split or
/// Vigil's own probes write to the standby). Keys only the standby has (deletes not applied) and keys it
/// lacks (a gap) are differences too.
public enum MirrorComparison {
  /// The differences, described one per key in key order (at most `limit`).
  public static func differences(primary: [StoredKey], standby: [StoredKey], since: Int64, limit: Int = 20) -> [String] {
    let mirrored = Dictionary(standby.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    let source = Dictionary(primary.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    var out: [String] = []
    for key in Set(mirrored.keys).union(source.keys).sorted() {
      guard out.count < limit else { break }
      switch (source[key], mirrored[key]) {
      case (let p?, nil): out.append("\(key): missing on the standby (mod revision \(p.modRevision))")
      case (nil, let s?): out.append("\(key): only on the standby (deleted on the primary; mod revision \(s.modRevision))")
      case (let p?, let s?):
        var what: [String] = []
        if p.value != s.value { what.append("value \(p.value.prefix(40)) ≠ \(s.value.prefix(40))") }
        if p.lease != s.lease { what.append("lease \(p.lease) ≠ \(s.lease)") }
        if p.createRevision > since, p.version != s.version { what.append("version \(p.version) ≠ \(s.version)") }
        if s.modRevision <= p.modRevision { what.append("mod revision \(s.modRevision) not ahead of \(p.modRevision)") }
        if !what.isEmpty { out.append("\(key): \(what.joined(separator: ", "))") }
      case (nil, nil): break
      }
    }
    return out
  }
}
