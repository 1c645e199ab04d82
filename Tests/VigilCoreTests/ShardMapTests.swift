import Testing
import VigilCore

/// Splitting the fleet among replicas (rendezvous hashing over shards): one owner a shard, a fair share
/// each, and nothing moving but what must.
@Suite("Shard map")
struct ShardMapTests {
  let map = ShardMap(shards: 64)
  let three = ["vigil-a", "vigil-b", "vigil-c"]

  @Test func theHashIsTheSameOnEveryRunAndSpreads() {
    #expect(ShardMap.hash("cluster-1") == ShardMap.hash("cluster-1"))
    #expect(ShardMap.hash("cluster-1") != ShardMap.hash("cluster-2"))
    // A thousand clusters over 64 shards: every shard gets some, none more than three times its share.
    var counts = [Int](repeating: 0, count: 64)
    for i in 0..<1000 { counts[map.shard(of: "cluster-\(i)")] += 1 }
    #expect(counts.allSatisfy { $0 > 0 && $0 < 48 }, "\(counts)")
  }

  @Test func everyShardHasOneOwnerAndEachReplicaAFairShare() {
    let owners = map.owners(among: three)
    #expect(owners.count == 64 && owners.values.allSatisfy { three.contains($0) })
    for r in three {
      let mine = map.shards(of: r, among: three)
      #expect(mine.count >= 10 && mine.count <= 35, "\(r): \(mine.count)")
    }
    // The order the replicas are listed in changes nothing.
    #expect(map.owners(among: three.reversed()) == owners)
    #expect(map.owner(of: 3, among: [String]()) == nil)
  }

  @Test func aJoiningReplicaTakesOnlyItsShareAndALeavingOneGivesUpOnlyItsOwn() {
    let before = map.owners(among: three)
    let after = map.owners(among: three + ["vigil-d"])
    let moved = (0..<64).filter { before[$0] != after[$0] }
    #expect(!moved.isEmpty && moved.allSatisfy { after[$0] == "vigil-d" })
    let gone = map.owners(among: ["vigil-a", "vigil-c"])
    for s in 0..<64 {
      if before[s] != "vigil-b" { #expect(gone[s] == before[s]) } else { #expect(gone[s] != "vigil-b") }
    }
  }
}
