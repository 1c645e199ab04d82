import Foundation
import NIOConcurrencyHelpers
import Testing
import VigilCore
import VigilDrill
import VigilEtcd
import VigilMonitor
import VigilOracle
import VigilProbes
import VigilRepair
import VigilRuntime
import VigilTestKit

@Suite("Certificate rotation against real etcd", .serialized)
struct CertificateRotationTests {
  /// A TLS-only cluster (client and peer TLS, a certificate per member, m2's expiring within a day) rotated to new
  /// certificates under the recorded workload: the expiring certificate is a critical finding first; the plan
  /// restarts one member at a time and verifies each serves its new certificate; no acknowledged write is lost
  /// and at every sample at least two of the three members answered with a leader.
  /// A TLS-only cluster (client and peer TLS, a certificate per member under `live/`, m2's valid one day) guarded
  /// with `certificates:` keys (`extra`, after `cert` and `key`), and the CA to issue more.
  func withTLSCluster(
    certificates extra: (String) -> String,
    _ body: (LocalCluster, EtcdClient, Monitor, RepairCoordinator, TestCertificates, String, String) async throws -> Void
  ) async throws {
    try await withTemporaryDirectory { dir in
      let certs = try await TestCertificates.make(in: dir + "/ca")
      let live = dir + "/live"
      try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: true)
      for name in ["m1", "m2", "m3"] {
        try await certs.issue(
          name: "etcd-\(name)", days: name == "m2" ? 1 : 2, certificate: "\(live)/\(name).crt", key: "\(live)/\(name).key")
      }
      var tls = LocalClusterTLS(caFile: certs.caFile, certificateFile: live + "/{name}.crt", keyFile: live + "/{name}.key")
      tls.peer = true
      tls.clientCertificateFile = certs.clientCertificate
      tls.clientKeyFile = certs.clientKey
      try await withTestCluster(configure: { $0.tls = tls }) { cluster, client in
        let own = """
          tls: {ca: "\(certs.caFile)", cert: "\(certs.clientCertificate)", key: "\(certs.clientKey)"}
              certificates: {cert: "\(live)/{name}.crt", key: "\(live)/{name}.key", \(extra(dir))}
          """
        try await withRepair([("c", cluster)], perCluster: ["c": own]) { monitor, repairs, vigilDir in
          #expect(try await eventually { await monitor.health(of: "c") == .healthy })
          try await body(cluster, client, monitor, repairs, certs, dir, vigilDir)
        }
      }
    }
  }

  /// What each member serves on its client and peer ports: notAfter, by member.
  func served(_ cluster: LocalCluster) async throws -> [String: [Double]] {
    var out: [String: [Double]] = [:]
    for name in ["m1", "m2", "m3"] {
      let m = try await cluster.member(name)
      let peer = try EtcdEndpoint(parsing: m.peerURL)
      out[name] = [
        try await CertificateReader.remote(host: m.clientEndpoint.host, port: m.clientEndpoint.port, role: "server").notAfter,
        try await CertificateReader.remote(host: peer.host, port: peer.port, role: "peer").notAfter,
      ]
    }
    return out
  }

  @Test func everyMemberGetsItsNewCertificatesUnderLoadWithoutLosingAWriteOrTheQuorum() async throws {
    let nextFiles = { (dir: String) in #"newCert: "\#(dir)/next/{name}.crt", newKey: "\#(dir)/next/{name}.key""# }
    try await withTLSCluster(certificates: nextFiles) { cluster, client, monitor, repairs, certs, dir, _ in
      let live = dir + "/live"
      let next = dir + "/next"
      try FileManager.default.createDirectory(atPath: next, withIntermediateDirectories: true)
      for name in ["m1", "m2", "m3"] {
        try await certs.issue(
          name: "etcd-\(name)-next", days: 90, certificate: "\(next)/\(name).crt", key: "\(next)/\(name).key")
      }
      // m2's certificate (one day left) is a critical finding, on its client and peer ports.
      let m2 = try await cluster.member("m2")
      let m2Ports = ["\(m2.clientEndpoint.port)", String(m2.peerURL.split(separator: ":").last ?? "")]
      func aboutM2(_ f: Finding) -> Bool { f.evidence.contains { e in m2Ports.contains { e.contains(":\($0):") } } }
      let before = await monitor.inspect(cluster: "c").filter { $0.check == "certificate" }
      #expect(before.filter(aboutM2).count == 2 && before.filter(aboutM2).allSatisfy { $0.severity == .critical }, "\(before)")

      // The recorded workload, and a sampler of how many members answer with a leader.
      let recorder = WorkloadRecorder(origin: .now)
      var workers: [WorkloadRecorder.Client] = []
      for m in ["m1", "m2", "m3"] {
        let endpoint = try await cluster.member(m).clientEndpoint
        workers.append(.init(name: m, client: try EtcdClient(configuration: cluster.clientConfiguration(endpoints: [endpoint]))))
      }
      workers.append(.init(name: "cluster", client: try EtcdClient(configuration: cluster.clientConfiguration(endpoints: await cluster.endpoints))))
      let workload = Task { await recorder.run(workers, seed: 16, pace: .milliseconds(20)) }
      let fewest = NIOLockedValueBox(3)
      let endpoints = await cluster.endpoints
      let sampler = Task {
        let pinned = try endpoints.map { try EtcdClient(configuration: cluster.clientConfiguration(endpoints: [$0])) }
        while !Task.isCancelled {
          var answering = 0
          for p in pinned {
            if let s = try? await p.withCallTimeout(.seconds(2)).maintenance.status(), s.leader != 0 { answering += 1 }
          }
          fewest.withLockedValue { $0 = min($0, answering) }
          try? await Task.sleep(for: .milliseconds(100))
        }
        for p in pinned { await p.shutdown() }
      }
      try await Task.sleep(for: .seconds(1))

      let plan = try await repairs.run(.rotateCertificates, cluster: "c", member: nil, by: "test", reason: "m2 expires")
      try await Task.sleep(for: .seconds(1))
      workload.cancel()
      await workload.value
      sampler.cancel()
      try await sampler.value
      for w in workers { await w.client.shutdown() }

      #expect(plan.state == .succeeded, "\(plan.outcome ?? "") \(plan.steps.map { "\($0.action.rawValue) \($0.member ?? "") \($0.state.rawValue): \($0.detail ?? "")" })")
      #expect(plan.steps.filter { $0.action == .rotateMemberCertificates }.compactMap(\.member).sorted() == ["m1", "m2", "m3"])
      // The leader goes last.
      let order = plan.steps.filter { $0.action == .rotateMemberCertificates }.compactMap(\.member)
      #expect(plan.steps.first { $0.action == .verifyCertificate }?.detail?.contains("serves its new certificates") == true)
      // Every member serves its new certificate, client and peer side.
      for name in order {
        let m = try await cluster.member(name)
        let want = try #require(try CertificateReader.file("\(next)/\(name).crt", role: "server").first)
        #expect(want.notAfter > Date().timeIntervalSince1970 + 20 * 86_400)
        let served = try await CertificateReader.remote(host: m.clientEndpoint.host, port: m.clientEndpoint.port, role: "server")
        #expect(served.notAfter == want.notAfter)
        let peer = try EtcdEndpoint(parsing: m.peerURL)
        let peerServed = try await CertificateReader.remote(host: peer.host, port: peer.port, role: "peer")
        #expect(peerServed.notAfter == want.notAfter)
        #expect(try String(contentsOfFile: "\(live)/\(name).crt", encoding: .utf8) == String(contentsOfFile: "\(next)/\(name).crt", encoding: .utf8))
      }
      #expect(fewest.withLockedValue { $0 } >= 2, "a sample saw fewer than two members answering with a leader")

      // Not a write lost.
      let final = try await client.kv.range(WorkloadRecorder.prefix, prefix: true)
      var values: [String: String] = [:]
      for kv in final.kvs { values[String(decoding: kv.key, as: UTF8.self)] = String(decoding: kv.value, as: UTF8.self) }
      let history = await recorder.history
      let acknowledged = history.filter { $0.kind == .insert && $0.outcome == .ok }
      #expect(acknowledged.count > 50, "\(acknowledged.count) acknowledged inserts")
      let lost = HistoryChecker.lostWrites(history, final: values)
      #expect(lost.isEmpty)
      let took = (plan.finishedAt ?? plan.updatedAt) - plan.createdAt
      print(
        "rotation: 3 members in \(String(format: "%.1f", took)) s, \(acknowledged.count) acknowledged inserts, \(lost.count) lost, fewest answering \(fewest.withLockedValue { $0 }) of 3")
      // The expiring certificate is gone from the findings.
      let after = await monitor.inspect(cluster: "c").filter { $0.check == "certificate" && aboutM2($0) }
      #expect(after.isEmpty, "\(after.map(\.summary))")
      try await expectAudited(monitor.store, plan, actor: "test")
    }
  }

  /// New certificates whose keys do not match (each member's next key belongs to another certificate): the first
  /// member restarted does not come back, gets its old files back and answers again; the plan stops there and the
  /// others are never touched.
  @Test func aMemberThatCannotStartWithItsNewCertificatesIsRolledBack() async throws {
    let nextFiles = { (dir: String) in #"newCert: "\#(dir)/next/{name}.crt", newKey: "\#(dir)/next/{name}.key""# }
    try await withTLSCluster(certificates: nextFiles) { cluster, client, monitor, repairs, certs, dir, _ in
      let next = dir + "/next"
      try FileManager.default.createDirectory(atPath: next, withIntermediateDirectories: true)
      for name in ["m1", "m2", "m3"] {
        try await certs.issue(name: "etcd-\(name)-next", days: 90, certificate: "\(next)/\(name).crt", key: "\(next)/other.key")
        try FileManager.default.moveItem(atPath: "\(next)/other.key", toPath: "\(next)/\(name).key.tmp")
      }
      // m1 gets m2's key, m2 gets m3's, m3 gets m1's.
      for (name, from) in [("m1", "m2"), ("m2", "m3"), ("m3", "m1")] {
        try FileManager.default.copyItem(atPath: "\(next)/\(from).key.tmp", toPath: "\(next)/\(name).key")
      }
      let before = try await served(cluster)
      let plan = try await repairs.run(.rotateCertificates, cluster: "c", member: nil, by: "test", reason: "bad keys")
      #expect(plan.state == .failed)
      let rotations = plan.steps.filter { $0.action == .rotateMemberCertificates }
      #expect(rotations.first?.state == .failed)
      #expect(rotations.first?.detail?.contains("rolled back to its old files, and it answers again") == true, "\(rotations.first?.detail ?? "")")
      #expect(rotations.dropFirst().allSatisfy { $0.state == .pending })
      #expect(try await eventually { try await allVotersHealthy(client, voters: 3) })
      #expect(try await served(cluster) == before, "every member serves its old certificates")
    }
  }

  /// With a command that issues certificates, an expiring member certificate is rotated without a person: the
  /// planner makes the plan from the certificate finding.
  @Test func anExpiringCertificateIsRotatedOnItsOwnWhenAnIssueCommandIsConfigured() async throws {
    let issue = { (dir: String) in
      #"issue: [sh, -c, "openssl req -newkey rsa:2048 -nodes -subj /CN=etcd-$VIGIL_MEMBER_NAME-auto -keyout $VIGIL_NEW_KEY -out $VIGIL_NEW_CERT.csr 2>/dev/null && openssl x509 -req -in $VIGIL_NEW_CERT.csr -CA \#(dir)/ca/ca.crt -CAkey \#(dir)/ca/ca.key -CAcreateserial -days 90 -extfile \#(dir)/ca/ext.cnf -out $VIGIL_NEW_CERT 2>/dev/null"]"#
    }
    try await withTLSCluster(certificates: issue) { cluster, _, monitor, _, _, _, vigilDir in
      let plan = try #require(try await finishedPlan(monitor.store, .rotateCertificates, timeout: .seconds(90)))
      #expect(plan.state == .succeeded, "\(plan.outcome ?? "")")
      #expect(plan.reason.hasPrefix("certificate finding: "), "\(plan.reason)")
      let now = Date().timeIntervalSince1970
      #expect(try await served(cluster).values.allSatisfy { $0.allSatisfy { $0 > now + 80 * 86_400 } })
      // The issued keys are in place, not left in Vigil's scratch space.
      let left = (FileManager.default.enumerator(atPath: vigilDir)?.allObjects as? [String] ?? []).filter {
        $0.contains("vigil_new_")
      }
      #expect(left.isEmpty, "\(left)")
    }
  }
}
