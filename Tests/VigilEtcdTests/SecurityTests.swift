import Testing
import VigilEtcd
import VigilRuntime
import VigilTestKit

@Suite("TLS and authentication")
struct SecurityTests {
  @Test func tlsWithClientCertificatesWorksAndAWrongCAIsATLSError() async throws {
    try await withTemporaryDirectory { dir in
      let certs = try await TestCertificates.make(in: dir + "/good")
      let other = try await TestCertificates.make(in: dir + "/other", caName: "someone-else")
      try await withTestCluster(members: 1, configure: { $0.tls = certs.serverTLS }) { cluster, client in
        try await client.kv.put("/tls", "secure")
        #expect(try await client.kv.get("/tls")?.valueString == "secure")
        #expect(client.endpointInUse.scheme == .https)

        let endpoints = await cluster.endpoints
        let wrongCA = try EtcdClient(
          configuration: EtcdClientConfiguration(
            endpoints: endpoints,
            tls: EtcdTLSConfiguration(
              caFile: other.caFile, certificateFile: certs.clientCertificate, keyFile: certs.clientKey)))
        do {
          _ = try await wrongCA.kv.get("/tls")
          Issue.record("a client trusting the wrong CA got an answer")
        } catch let error as EtcdError {
          #expect(error.code == .tlsFailure)
          #expect(error.description.contains(endpoints[0].description))
        }
        await wrongCA.shutdown()

        // No client certificate while etcd requires one.
        let noCert = try EtcdClient(
          configuration: EtcdClientConfiguration(endpoints: endpoints, tls: EtcdTLSConfiguration(caFile: certs.caFile)))
        await #expect(throws: EtcdError.self) { _ = try await noCert.kv.get("/tls") }
        await noCert.shutdown()
      }
    }
  }

  @Test func missingCertificateFileIsNamedInTheError() throws {
    do {
      _ = try EtcdClient(
        configuration: EtcdClientConfiguration(
          endpoints: [EtcdEndpoint(host: "127.0.0.1", port: 2379)],
          tls: EtcdTLSConfiguration(caFile: "/nonexistent/ca.pem")))
      Issue.record("a missing CA file was accepted")
    } catch {
      #expect(error.code == .tlsFailure)
      #expect(error.message.contains("/nonexistent/ca.pem"))
    }
  }

  @Test func authWithUserAndPasswordAndTokenRefresh() async throws {
    // Tokens live 1 s here, so the client must re-authenticate mid-test.
    try await withTestCluster(members: 1, configure: { $0.extraArguments = ["--auth-token-ttl", "1"] }) {
      cluster, admin in
      try await admin.authentication.addUser("root", password: "rootpw")
      try await admin.authentication.grantRole(user: "root", role: "root")
      try await admin.authentication.enable()

      let endpoints = await cluster.endpoints
      // Without credentials, reads are refused.
      do {
        _ = try await admin.kv.get("/secret")
        Issue.record("unauthenticated read succeeded with auth on")
      } catch let error as EtcdError {
        #expect(error.code == .authenticationFailed || error.code == .permissionDenied)
      }
      let wrong = try EtcdClient(
        configuration: EtcdClientConfiguration(
          endpoints: endpoints, credentials: EtcdCredentials(username: "root", password: "nope")))
      do {
        _ = try await wrong.kv.get("/secret")
        Issue.record("wrong password accepted")
      } catch let error as EtcdError {
        #expect(error.code == .authenticationFailed)
      }
      await wrong.shutdown()

      let user = try EtcdClient(
        configuration: EtcdClientConfiguration(
          endpoints: endpoints, credentials: EtcdCredentials(username: "root", password: "rootpw")))
      try await user.kv.put("/secret", "s3")
      #expect(try await user.kv.get("/secret")?.valueString == "s3")
      try await Task.sleep(for: .seconds(3))  // the token expires
      #expect(try await user.kv.get("/secret")?.valueString == "s3")
      // Watches carry the token too.
      let watch = user.watch("/secret", options: EtcdWatchOptions(startRevision: 1))
      var iterator = watch.makeAsyncIterator()
      let first = try await iterator.next()
      #expect(first?.events.first?.kv.valueString == "s3")
      try await user.authentication.disable()
      await user.shutdown()
    }
  }
}
