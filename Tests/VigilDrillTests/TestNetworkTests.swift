import Foundation
import Logging
import Testing
import VigilConfig
import VigilCore
import VigilDrill
import VigilEtcd
import VigilRuntime
import VigilTestKit

/// The test hosts are real: namespaces, veth pairs, a bridge, iptables rules — and all gone afterwards.
@Suite("Test network", .serialized)
struct TestNetworkTests {
  static func sh(_ args: [String]) async throws -> String {
    try await ChildProcess.run(args[0], Array(args.dropFirst())).stdout
  }

  @Test func partitionRulesFollowScopeAndDirection() {
    let peers = ["10.0.0.12", "10.0.0.13"]
    #expect(
      PartitionRules.rules(scope: .peers, direction: .both, peers: peers, interface: "n1") == [
        ["-A", "VIGIL-IN", "-s", "10.0.0.12", "-j", "DROP"], ["-A", "VIGIL-OUT", "-d", "10.0.0.12", "-j", "DROP"],
        ["-A", "VIGIL-IN", "-s", "10.0.0.13", "-j", "DROP"], ["-A", "VIGIL-OUT", "-d", "10.0.0.13", "-j", "DROP"],
      ])
    #expect(
      PartitionRules.rules(scope: .everyone, direction: .inbound, peers: peers, interface: "n1") == [
        ["-A", "VIGIL-IN", "-i", "n1", "-j", "DROP"]
      ])
    #expect(
      PartitionRules.rules(scope: .everyone, direction: .outbound, peers: peers, interface: "n1") == [
        ["-A", "VIGIL-OUT", "-o", "n1", "-j", "DROP"]
      ])
  }

  @Test func hostsAreReachableCutOffHealedAndRemoved() async throws {
    let net = try await TestNetwork.create(hosts: 2, logger: Logger(label: "test"))
    do {
      let namespaces = try await Self.sh(["/usr/sbin/ip", "netns", "list"])
      #expect(namespaces.contains("\(net.id)-h1") && namespaces.contains("\(net.id)-h2"))
      // A real etcd on host h1, reached from the root namespace (where Vigil runs) through the bridge.
      var options = LocalClusterOptions(members: 1)
      options.hosts = [net.hosts[0]]
      let cluster = try await LocalCluster.start(options)
      let endpoint = await cluster.endpoints[0]
      #expect(endpoint.host == net.hosts[0].address)
      var clientConfig = EtcdClientConfiguration(endpoints: [endpoint])
      clientConfig.callTimeout = .seconds(1)
      let client = try EtcdClient(configuration: clientConfig)
      let reach = { () async -> Bool in (try? await client.maintenance.status()) != nil }
      // The first call also opens the connection through the bridge: under a loaded test run it can take
      // longer than one 1 s call.
      #expect(try await eventually { await reach() })
      try await net.partition(host: "h1", scope: .everyone, direction: .both)
      #expect(await net.partitioned == ["h1"])
      #expect(!(await reach()))
      try await net.heal(host: "h1")
      // The connection opened before the cut recovers at TCP's retransmission pace (seconds under load).
      #expect(try await eventually { await reach() })
      await client.shutdown()
      await cluster.shutdown()
    } catch {
      await net.remove()
      throw error
    }
    await net.remove()
    let after = try await Self.sh(["/usr/sbin/ip", "netns", "list"])
    #expect(!after.contains(net.id))
    let links = try await Self.sh(["/usr/sbin/ip", "link", "show"])
    #expect(!links.contains(net.id))
  }

  @Test func aDrillRefusesAClusterNotMarkedDrillAllowed() throws {
    let yaml = """
      clusters:
        - {name: prod, endpoints: ["http://127.0.0.1:2379"]}
        - {name: lab, runtime: {kind: local, members: 3}, drillAllowed: true}
        - {name: shared, endpoints: ["http://127.0.0.1:2379"], drillAllowed: true}
      """
    let config = try ConfigLoader.parse(yaml)
    let refusals = [
      ("prod", "clusters[prod].drillAllowed is false"), ("shared", "clusters[shared].runtime is not local"),
      ("nope", "--cluster nope: no such cluster"),
    ]
    for (name, message) in refusals {
      let error = #expect(throws: DrillError.self) { try DrillRunner.drillCluster(config, named: name) }
      #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }
    #expect(try DrillRunner.drillCluster(config, named: "lab").name == "lab")
  }
}
