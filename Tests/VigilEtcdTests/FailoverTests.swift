import Testing
import VigilEtcd
import VigilRuntime
import VigilTestKit

@Suite("Endpoint failover and errors")
struct FailoverTests {
  @Test func callsMoveToTheNextEndpointWhenTheMemberInUseIsKilled() async throws {
    try await withTestCluster { cluster, client in
      try await client.kv.put("/f/a", "1")
      let first = client.endpointInUse
      #expect(first == (await cluster.endpoints[0]))
      try await cluster.kill("m1")
      // A read is idempotent: it fails over transparently.
      #expect(try await client.kv.get("/f/a")?.valueString == "1")
      #expect(client.endpointInUse != first)
      // Writes go to the new endpoint too (retried only while an election settles).
      try await createEventually(client, "/f/b", "2")
      #expect(try await client.kv.get("/f/b")?.valueString == "2")
    }
  }

  @Test func aCallThatTimesOutOnAFrozenMemberMovesTheNextCallElsewhere() async throws {
    try await withTestCluster { cluster, base in
      try await base.kv.put("/z", "1")
      let client = base.withCallTimeout(.milliseconds(500))
      let first = client.endpointInUse
      #expect(first == (await cluster.endpoints[0]))
      try await cluster.freeze("m1")
      do {
        _ = try await client.kv.get("/z")
        Issue.record("a frozen member answered")
      } catch let error as EtcdError {
        #expect(error.code == .timedOut)
      }
      #expect(client.endpointInUse != first)
      // Answered by another member (serializable: m1 may have been the leader, and an election is not
      // what this checks), through the same client with its patient deadline (the suites run in parallel).
      #expect(try await base.kv.get("/z", consistency: .serializable)?.valueString == "1")
      #expect(base.endpointInUse != first)
      try await cluster.unfreeze("m1")
    }
  }

  @Test func aPinnedClientDoesNotFailOver() async throws {
    try await withTestCluster { cluster, client in
      let m2 = try await cluster.member("m2")
      let pinned = client.member(m2.clientEndpoint)
      try await cluster.kill("m2")
      do {
        _ = try await pinned.kv.get("/x")
        Issue.record("a pinned client answered from another member")
      } catch let error as EtcdError {
        #expect(error.code == .unreachable)
        #expect(error.description.contains(m2.clientEndpoint.description))
        #expect(error.description.contains("connection refused"))
      }
    }
  }

  @Test func aWriteInterruptedAfterSendingReportsOutcomeUnknown() async throws {
    try await withTestCluster(members: 1) { cluster, client in
      try await client.kv.put("/u", "0")
      // Freeze the member so the write is sent but never answered, then
      // kill it: the connection drops with the outcome unknown.
      try await cluster.freeze("m1")
      let write = Task { _ = try await client.kv.put("/u", "1") }
      try await Task.sleep(for: .milliseconds(300))
      try await cluster.kill("m1")
      do {
        try await write.value
        Issue.record("write on a killed member succeeded")
      } catch let error as EtcdError {
        #expect(error.code == .outcomeUnknown)
        #expect(error.message.contains("may or may not"))
      }
    }
  }

  @Test func timeoutNamesTheEndpoint() async throws {
    try await withTestCluster(members: 1) { cluster, base in
      try await base.kv.put("/t", "1")  // set up with the patient client: a fresh member's first write can be slow
      let client = base.withCallTimeout(.milliseconds(500))
      try await cluster.freeze("m1")
      do {
        _ = try await client.kv.get("/t")
        Issue.record("a frozen member answered")
      } catch let error as EtcdError {
        #expect(error.code == .timedOut)
        #expect(error.description.contains("127.0.0.1"))
      }
      try await cluster.unfreeze("m1")
    }
  }

  @Test(arguments: [
    ("htp://127.0.0.1:2379", "unknown scheme"),
    ("127.0.0.1", "no port"),
    ("http://127.0.0.1:99999", "invalid port"),
    ("http://:2379", "no host"),
    ("http://127.0.0.1:2379/v3", "has a path"),
  ])
  func malformedEndpointsAreRejectedClearly(input: String, expected: String) {
    do {
      _ = try EtcdEndpoint(parsing: input)
      Issue.record("\(input) was accepted")
    } catch {
      #expect(EtcdError(error).code == .invalidArgument)
      #expect(error.message.contains(input))
      #expect(error.message.contains(expected))
    }
  }

  @Test func wellFormedEndpointsParse() throws {
    #expect(try EtcdEndpoint(parsing: "127.0.0.1:2379") == EtcdEndpoint(scheme: .http, host: "127.0.0.1", port: 2379))
    #expect(try EtcdEndpoint(parsing: "https://etcd-1:2379/").scheme == .https)
    #expect(try EtcdEndpoint(parsing: "http://[::1]:2379").authority == "[::1]:2379")
    #expect(try EtcdEndpoint.parseList("a:1, b:2").count == 2)
  }
}
