import Foundation
import Synchronization
import Testing
import VigilEtcd
import VigilProxy
import VigilRuntime
import VigilTestKit

/// The L4 proxy between real etcd clients (Vigil's and etcdctl, the Go client) and real clusters: traffic
/// relayed untouched; a change of backends closes the old connections and new ones reach the new cluster.
@Suite struct StandbyProxyTests {
  @Test func clientsFollowTheBackendsAndEtcdctlWorksThrough() async throws {
    try await withTestCluster(members: 1) { a, clientA in
      try await withTestCluster(members: 1) { b, clientB in
        let proxy = TCPProxy()
        try await proxy.start(host: "127.0.0.1", port: 0)
        let port = try #require(proxy.localAddress?.port)
        let first = try #require(await a.members.first).clientEndpoint
        let second = try #require(await b.members.first).clientEndpoint
        proxy.update(backends: [TCPProxy.Backend(host: first.host, port: first.port)])

        // Vigil's client and etcdctl, through the proxy, reach a.
        let through = try EtcdClient(configuration: a.clientConfiguration(endpoints: [try EtcdEndpoint(parsing: "http://127.0.0.1:\(port)")]))
        try await through.kv.put("/via-proxy", "a")
        #expect(try await clientA.kv.get("/via-proxy")?.valueString == "a")
        let put = try await etcdctl(port: port, "put", "/from-etcdctl", "1")
        #expect(put.status == 0, "\(put.stderr)")
        #expect(try await clientA.kv.get("/from-etcdctl")?.valueString == "1")
        #expect(proxy.stats.open >= 1)

        // The backends move to b: the open connection is closed; the client reconnects, now to b.
        proxy.update(backends: [TCPProxy.Backend(host: second.host, port: second.port)])
        #expect(try await eventually { try await through.kv.get("/via-proxy") == nil })
        try await through.kv.put("/via-proxy", "b")
        #expect(try await clientB.kv.get("/via-proxy")?.valueString == "b")
        #expect(try await clientA.kv.get("/via-proxy")?.valueString == "a")
        let get = try await etcdctl(port: port, "get", "/from-etcdctl")
        #expect(get.status == 0 && get.stdout.isEmpty, "\(get.stdout)\(get.stderr)")

        // No backend: connections are refused (closed at once), and etcdctl says so.
        proxy.update(backends: [])
        let refused = try await etcdctl(port: port, "get", "/x")
        #expect(refused.status != 0)
        #expect(proxy.stats.refused >= 1)
        await through.shutdown()
        await proxy.stop()
      }
    }
  }

  @Test func followingKeepsTheLastBackendsWhenNoneOrNothingIsPublished() async throws {
    let proxy = TCPProxy()
    let a = TCPProxy.Backend(host: "127.0.0.1", port: 1)
    let b = TCPProxy.Backend(host: "127.0.0.1", port: 2)
    // What the server publishes, in turn: a; nothing (a Vigil just restarted); an error; b.
    let answers = Mutex<[Result<[TCPProxy.Backend], TestTimeout>]>([.success([a]), .success([]), .failure(TestTimeout("down")), .success([b])])
    let seen = Mutex<[[TCPProxy.Backend]]>([])
    let follow = Task {
      await proxy.follow(every: .milliseconds(20)) {
        let next = answers.withLock { $0.count > 1 ? $0.removeFirst() : $0[0] }
        seen.withLock { $0.append(proxy.backends) }
        let backends = try next.get()
        return ("side", backends)
      }
    }
    #expect(try await eventually { proxy.backends == [b] })
    follow.cancel()
    await follow.value
    // Once it had a, the proxy kept it through the empty answer and the error, until b.
    let before = seen.withLock { $0 }
    let firstA = try #require(before.firstIndex(of: [a]))
    #expect(before.count >= 3)
    #expect(!before[firstA...].contains([]), "\(before)")
  }

  @Test(arguments: [
    ("http://10.0.0.1:2379", "10.0.0.1:2379"), ("https://host.example:32379/", "host.example:32379"), ("127.0.0.1:1", "127.0.0.1:1"),
  ])
  func backendsParseFromPublishedURLs(url: String, expected: String) {
    #expect(TCPProxy.Backend(url: url)?.description == expected)
  }

  @Test(arguments: ["http://nohost", "10.0.0.1:0", "10.0.0.1:99999", "x:y"])
  func badBackendURLsAreRefused(url: String) {
    #expect(TCPProxy.Backend(url: url) == nil)
  }
}
