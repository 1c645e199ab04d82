import Foundation

/// What a cluster is declared to run: the settings Vigil holds its members to.
public struct ClusterSpec: Sendable, Hashable, Codable {
  /// Voters.
  public var members: Int?
  /// The etcd version, or a prefix of it ("3.4" matches "3.4.23").
  public var version: String?
  /// Clients reach the members over TLS (https client URLs).
  public var clientTLS: Bool?
  /// Members reach each other over TLS (https peer URLs).
  public var peerTLS: Bool?
  /// etcd flags without their dashes (`quota-backend-bytes`, `auto-compaction-mode`, `snapshot-count`, …) and the
  /// values they should have.
  public var flags: [String: String]

  public init(
    members: Int? = nil, version: String? = nil, clientTLS: Bool? = nil, peerTLS: Bool? = nil,
    flags: [String: String] = [:]
  ) {
    self.members = members
    self.version = version
    self.clientTLS = clientTLS
    self.peerTLS = peerTLS
    self.flags = flags
  }
}

/// One member as it runs: what its API shows, and its command line when its runtime can tell.
public struct MemberRunning: Sendable, Hashable {
  public var name: String
  /// From its status (nil: it did not answer).
  public var version: String?
  public var clientTLS: Bool?
  public var peerTLS: Bool?
  /// Its etcd arguments (nil: its runtime cannot report them).
  public var arguments: [String]?

  public init(name: String, version: String?, clientTLS: Bool?, peerTLS: Bool?, arguments: [String]?) {
    self.name = name
    self.version = version
    self.clientTLS = clientTLS
    self.peerTLS = peerTLS
    self.arguments = arguments
  }
}

/// Configuration drift: the declared ``ClusterSpec`` against what each member runs. Pure.
public enum Drift {
  /// etcd 3.4's defaults for the flags a spec may declare: a flag not on a member's command line has its default.
  public static let etcd34Defaults: [String: String] = [
    "snapshot-count": "100000", "heartbeat-interval": "100", "election-timeout": "1000",
    "quota-backend-bytes": "2147483648", "auto-compaction-mode": "periodic", "auto-compaction-retention": "0",
    "max-request-bytes": "1572864", "max-txn-ops": "128", "max-snapshots": "5", "max-wals": "5",
    "pre-vote": "false", "strict-reconfig-check": "true", "enable-v2": "false", "client-cert-auth": "false",
    "peer-client-cert-auth": "false", "auth-token": "simple", "experimental-initial-corrupt-check": "false",
    "experimental-corrupt-check-time": "0s", "backend-batch-interval": "0s", "backend-batch-limit": "0",
    "grpc-keepalive-min-time": "5s", "grpc-keepalive-interval": "2h0m0s", "grpc-keepalive-timeout": "20s",
    "experimental-backend-bbolt-freelist-type": "map", "experimental-enable-lease-checkpoint": "false",
    "experimental-compaction-batch-limit": "1000", "log-level": "info", "metrics": "basic",
  ]

  /// The flags a spec may declare (those with a default above).
  public static var knownFlags: [String] { etcd34Defaults.keys.sorted() }

  /// `--key=value`, `--key value` and bare `--key` (true) arguments by key.
  public static func flags(_ arguments: [String]) -> [String: String] {
    var out: [String: String] = [:]
    var i = 0
    while i < arguments.count {
      let a = arguments[i]
      i += 1
      guard a.hasPrefix("-") else { continue }
      let body = a.drop { $0 == "-" }
      if let eq = body.firstIndex(of: "=") {
        out[String(body[..<eq])] = String(body[body.index(after: eq)...])
      } else if i < arguments.count, !arguments[i].hasPrefix("-") {
        out[String(body)] = arguments[i]
        i += 1
      } else {
        out[String(body)] = "true"
      }
    }
    return out
  }

  /// Whether two values of `flag` say the same: numbers by value, `0` quota as etcd's 2 GiB default, the rest as text.
  static func same(_ flag: String, _ a: String, _ b: String) -> Bool {
    func normal(_ v: String) -> String {
      var t = v.trimmingCharacters(in: .whitespaces).lowercased()
      if flag == "quota-backend-bytes", t == "0" { t = "2147483648" }
      if let d = Double(t) { return String(d) }
      return t
    }
    return normal(a) == normal(b)
  }

  /// The differences, a finding a member (each with a diff) and one for the member count.
  public static func findings(cluster: String, spec: ClusterSpec, voters: Int, members: [MemberRunning]) -> [Finding] {
    var out: [Finding] = []
    if let declared = spec.members, declared != voters {
      out.append(
        Finding(
          check: "drift", cluster: cluster, severity: .warning,
          summary: "\(voters) voters run, \(declared) declared",
          evidence: ["- members: \(declared) (declared)", "+ members: \(voters) (running)"],
          action: "add or remove members to match the declared count, or change the spec"))
    }
    for m in members.sorted(by: { $0.name < $1.name }) {
      var diff: [(key: String, declared: String, running: String)] = []
      if let want = spec.version, let have = m.version, !(have == want || have.hasPrefix(want + ".")) {
        diff.append(("version", want, have))
      }
      if let want = spec.clientTLS, let have = m.clientTLS, want != have {
        diff.append(("client TLS", want ? "on" : "off", have ? "on" : "off"))
      }
      if let want = spec.peerTLS, let have = m.peerTLS, want != have {
        diff.append(("peer TLS", want ? "on" : "off", have ? "on" : "off"))
      }
      if let arguments = m.arguments {
        let running = flags(arguments)
        for (flag, want) in spec.flags.sorted(by: { $0.key < $1.key }) {
          let have = running[flag] ?? etcd34Defaults[flag] ?? "(unset)"
          if !same(flag, want, have) { diff.append(("--\(flag)", want, running[flag] == nil ? "\(have) (default)" : have)) }
        }
      }
      guard !diff.isEmpty else { continue }
      let tlsOff = diff.contains { $0.key.hasSuffix("TLS") && $0.running == "off" }
      out.append(
        Finding(
          check: "drift", cluster: cluster, member: m.name, severity: tlsOff ? .critical : .warning,
          summary: "\(m.name) differs from the declared spec in \(diff.map(\.key).joined(separator: ", "))",
          evidence: diff.flatMap { ["- \($0.key): \($0.declared) (declared)", "+ \($0.key): \($0.running) (\(m.name))"] },
          action: "restart the member with the declared settings (or change the spec if the change was meant)"))
    }
    return out
  }
}
