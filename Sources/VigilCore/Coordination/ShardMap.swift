/// How the fleet's clusters are split among Vigil's replicas (pure): each cluster falls in one of `shards`
/// shards by a stable hash of its name, and each shard belongs to the live replica that scores highest for
/// it (rendezvous hashing). A replica joining takes only the shards it now scores highest for; one leaving
/// gives up only its own: nothing else moves.
public struct ShardMap: Sendable, Hashable {
  public var shards: Int

  public init(shards: Int) {
    precondition(shards > 0, "a shard map needs at least one shard")
    self.shards = shards
  }

  /// The shard `cluster` falls in.
  public func shard(of cluster: String) -> Int { Int(Self.hash(cluster) % UInt64(shards)) }

  /// The replica that should own `shard` among `replicas` (nil: none is alive).
  public func owner(of shard: Int, among replicas: some Collection<String>) -> String? {
    replicas.max { a, b in
      let (x, y) = (Self.score(a, shard), Self.score(b, shard))
      return x == y ? a < b : x < y
    }
  }

  /// Every shard's owner among `replicas`.
  public func owners(among replicas: some Collection<String>) -> [Int: String] {
    var out: [Int: String] = [:]
    for s in 0..<shards { out[s] = owner(of: s, among: replicas) }
    return out
  }

  /// The shards `replica` should own among `replicas`.
  public func shards(of replica: String, among replicas: some Collection<String>) -> Set<Int> {
    Set((0..<shards).filter { owner(of: $0, among: replicas) == replica })
  }

  static func score(_ replica: String, _ shard: Int) -> UInt64 { hash("\(replica)/\(shard)") }

  /// FNV-1a over the UTF-8 bytes, then a 64-bit finalizer so that names differing in one character
  /// spread over the whole range; the same on every replica and every run (Swift's `Hasher` is seeded per
  /// process, so it cannot be used here).
  public static func hash(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      h ^= UInt64(byte)
      h = h &* 0x0000_0100_0000_01b3
    }
    h ^= h >> 33
    h = h &* 0xff51_afd7_ed55_8ccd
    h ^= h >> 33
    h = h &* 0xc4ce_b9fe_1a85_ec53
    h ^= h >> 33
    return h
  }
}
