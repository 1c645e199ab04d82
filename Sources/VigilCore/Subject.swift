/// What Vigil watches and names: a whole cluster, or one member of it. Its ``key`` (`cluster` or
/// `cluster/member`) is how incidents, transitions and metrics name it.
public struct Subject: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var cluster: String
  public var member: String?

  public init(cluster: String, member: String? = nil) {
    self.cluster = cluster
    self.member = member
  }

  public static func member(_ name: String, of cluster: String) -> Subject { Subject(cluster: cluster, member: name) }

  /// Reads a key back (`cluster` or `cluster/member`; a cluster name never contains a slash).
  public init(key: String) {
    if let slash = key.firstIndex(of: "/") {
      self.init(cluster: String(key[..<slash]), member: String(key[key.index(after: slash)...]))
    } else {
      self.init(cluster: key)
    }
  }

  public var key: String { member.map { "\(cluster)/\($0)" } ?? cluster }
  public var description: String { key }
  public var isCluster: Bool { member == nil }

  public static func < (a: Subject, b: Subject) -> Bool { a.key < b.key }
}
