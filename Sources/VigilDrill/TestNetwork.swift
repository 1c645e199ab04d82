import Foundation
import Logging
import VigilCore
import VigilRuntime
import VigilOracle

#if canImport(Glibc)
  import Glibc
#endif

/// A failure of a drill's set-up or fault injection, saying what to do.
public struct DrillError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Test hosts with a real network: one network namespace per host, each joined
/// by a veth pair to a bridge in the root namespace, with addresses in
/// 10.231.X.0/24 (X picked free at run time). The root namespace holds the
/// bridge's address (.1), so Vigil, running outside, reaches every host as a
/// separate machine would. Partitions are iptables rules in a host's own
/// namespace (chains VIGIL-IN and VIGIL-OUT), so healing is flushing them.
///
/// Everything is removed by ``remove()``; a reaper process removes it too if
/// the owner dies first (even by `kill -9`).
public actor TestNetwork {
  public nonisolated let id: String
  public nonisolated let subnet: String
  public nonisolated let hosts: [LocalHost]
  private let logger: Logger
  private var reaper: Process?
  private var removed = false
  private var cut: Set<String> = []

  static let ip = "/usr/sbin/ip"
  static let iptables = "/usr/sbin/iptables"

  private init(id: String, subnet: String, hosts: [LocalHost], logger: Logger) {
    self.id = id
    self.subnet = subnet
    self.hosts = hosts
    self.logger = logger
  }

  var bridge: String { "\(id)br" }
  nonisolated func namespace(_ i: Int) -> String { "\(id)-h\(i + 1)" }
  func hostSide(_ i: Int) -> String { "\(id)h\(i + 1)" }
  nonisolated func innerSide(_ i: Int) -> String { "\(id)n\(i + 1)" }

  /// Creates `count` hosts named h1…hN.
  /// - Throws: ``DrillError`` when not root or iproute2/iptables are missing, or a command fails (all undone).
  public static func create(hosts count: Int, logger: Logger) async throws -> TestNetwork {
    guard getuid() == 0 else { throw DrillError("test hosts need root (network namespaces, veth, iptables)") }
    for tool in [ip, iptables] where !FileManager.default.isExecutableFile(atPath: tool) {
      throw DrillError("\(tool) is missing (install iproute2 and iptables: scripts/bootstrap does)")
    }
    let id = "vd" + String(UInt16.random(in: 0...UInt16.max), radix: 16)
    let octet = try await freeOctet()
    let prefix = "10.231.\(octet)"
    let hosts = (0..<count).map { i in
      LocalHost(name: "h\(i + 1)", address: "\(prefix).\(11 + i)", launcher: [ip, "netns", "exec", "\(id)-h\(i + 1)"])
    }
    let net = TestNetwork(id: id, subnet: "\(prefix).0/24", hosts: hosts, logger: logger)
    do {
      try await net.build(prefix: prefix)
    } catch {
      await net.remove()
      throw error
    }
    return net
  }

  /// A third octet no route in the root namespace uses yet.
  static func freeOctet() async throws -> Int {
    let routes = try await run(ip, ["-4", "route", "show"]).stdout
    for _ in 0..<50 {
      let octet = Int.random(in: 1...254)
      if !routes.contains("10.231.\(octet).") { return octet }
    }
    throw DrillError("no free 10.231.X.0/24 subnet for test hosts")
  }

  private func build(prefix: String) async throws {
    try startReaper()
    try await Self.run(Self.ip, ["link", "add", bridge, "type", "bridge"])
    try await Self.run(Self.ip, ["addr", "add", "\(prefix).1/24", "dev", bridge])
    try await Self.run(Self.ip, ["link", "set", bridge, "up"])
    for (i, host) in hosts.enumerated() {
      let ns = namespace(i)
      try await Self.run(Self.ip, ["netns", "add", ns])
      try await Self.run(Self.ip, ["link", "add", hostSide(i), "type", "veth", "peer", "name", innerSide(i)])
      try await Self.run(Self.ip, ["link", "set", innerSide(i), "netns", ns])
      try await Self.run(Self.ip, ["link", "set", hostSide(i), "master", bridge])
      try await Self.run(Self.ip, ["link", "set", hostSide(i), "up"])
      try await Self.run(Self.ip, ["-n", ns, "addr", "add", "\(host.address)/24", "dev", innerSide(i)])
      try await Self.run(Self.ip, ["-n", ns, "link", "set", innerSide(i), "up"])
      try await Self.run(Self.ip, ["-n", ns, "link", "set", "lo", "up"])
      try await Self.run(Self.ip, ["-n", ns, "route", "add", "default", "via", "\(prefix).1"])
      try await inside(ns, Self.iptables, ["-N", PartitionRules.inChain])
      try await inside(ns, Self.iptables, ["-N", PartitionRules.outChain])
      try await inside(ns, Self.iptables, ["-I", "INPUT", "-j", PartitionRules.inChain])
      try await inside(ns, Self.iptables, ["-I", "OUTPUT", "-j", PartitionRules.outChain])
    }
    logger.info("test hosts ready", metadata: ["drill.network": "\(id) \(subnet)"])
  }

  /// Cuts a host off (see ``PartitionScope`` and ``PartitionDirection``).
  public func partition(host name: String, scope: PartitionScope, direction: PartitionDirection) async throws {
    guard let i = hosts.firstIndex(where: { $0.name == name }) else { throw DrillError("no test host \(name)") }
    let peers = hosts.filter { $0.name != name }.map(\.address)
    for rule in PartitionRules.rules(scope: scope, direction: direction, peers: peers, interface: innerSide(i)) {
      try await inside(namespace(i), Self.iptables, rule)
    }
    cut.insert(name)
  }

  /// Removes a host's partition rules.
  public func heal(host name: String) async throws {
    guard let i = hosts.firstIndex(where: { $0.name == name }) else { throw DrillError("no test host \(name)") }
    try await inside(namespace(i), Self.iptables, ["-F", PartitionRules.inChain])
    try await inside(namespace(i), Self.iptables, ["-F", PartitionRules.outChain])
    cut.remove(name)
  }

  /// Hosts currently cut off.
  public var partitioned: Set<String> { cut }

  /// Deletes the namespaces, veth pairs and bridge. Safe to call twice.
  public func remove() async {
    guard !removed else { return }
    removed = true
    for i in hosts.indices { _ = try? await Self.run(Self.ip, ["netns", "del", namespace(i)], check: false) }
    for i in hosts.indices { _ = try? await Self.run(Self.ip, ["link", "del", hostSide(i)], check: false) }
    _ = try? await Self.run(Self.ip, ["link", "del", bridge], check: false)
    if let reaper, reaper.isRunning { Glibc.kill(reaper.processIdentifier, SIGKILL) }
    logger.info("test hosts removed", metadata: ["drill.network": "\(id)"])
  }

  private func inside(_ ns: String, _ program: String, _ args: [String]) async throws {
    try await Self.run(Self.ip, ["netns", "exec", ns, program] + args)
  }

  @discardableResult
  static func run(_ program: String, _ args: [String], check: Bool = true) async throws -> ChildProcessResult {
    let result = try await ChildProcess.run(program, args, timeout: .seconds(30))
    if check, result.status != 0 {
      throw DrillError(
        "\(([program] + args).joined(separator: " ")) failed (status \(result.status)): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
    return result
  }

  /// Removes the network when the owner dies without calling ``remove()``.
  private func startReaper() throws {
    let names = hosts.indices.map { namespace($0) }.joined(separator: " ")
    let links = (hosts.indices.map { hostSide($0) } + [bridge]).joined(separator: " ")
    let cleanup = """
      for n in \(names); do \(Self.ip) netns del "$n" 2>/dev/null; done
      for l in \(links); do \(Self.ip) link del "$l" 2>/dev/null; done
      """
    do { reaper = try Reaper.start(cleanup: cleanup) } catch {
      throw DrillError("cannot start the network reaper: \(error.localizedDescription)")
    }
  }
}

/// The iptables rules of a partition, as argument lists (pure, so it can be checked without root).
public enum PartitionRules {
  /// Jumped to from INPUT and from OUTPUT.
  public static let inChain = "VIGIL-IN"
  public static let outChain = "VIGIL-OUT"

  /// - Parameters:
  ///   - peers: the other hosts' addresses (scope `.peers`).
  ///   - interface: the host's own network interface (scope `.everyone`; loopback stays open).
  public static func rules(scope: PartitionScope, direction: PartitionDirection, peers: [String], interface: String)
    -> [[String]]
  {
    var rules: [[String]] = []
    let inbound = direction != .outbound
    let outbound = direction != .inbound
    switch scope {
    case .peers:
      for peer in peers {
        if inbound { rules.append(["-A", inChain, "-s", peer, "-j", "DROP"]) }
        if outbound { rules.append(["-A", outChain, "-d", peer, "-j", "DROP"]) }
      }
    case .everyone:
      if inbound { rules.append(["-A", inChain, "-i", interface, "-j", "DROP"]) }
      if outbound { rules.append(["-A", outChain, "-o", interface, "-j", "DROP"]) }
    }
    return rules
  }
}
