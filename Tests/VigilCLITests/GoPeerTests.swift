import Foundation
import Testing
import VigilBench

/// `vigil bench kv` compares Vigil's client with etcd's Go client; the Go peer
/// must build on a fresh machine with Debian's Go (1.19) after bootstrap.
@Suite("bench kv's Go peer")
struct GoPeerTests {
  @Test func theGoPeerBuildsWithDebiansGoTheWayTheBenchmarkBuildsIt() async throws {
    let binary = try await KVBenchmark.buildGoPeer()
    #expect(FileManager.default.isExecutableFile(atPath: binary))
  }
}
