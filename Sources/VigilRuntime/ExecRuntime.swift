import Foundation
import VigilConfig
import VigilEtcd

/// The `exec` driver: every action is a command the user configured (a
/// systemd unit, a script, another supervisor), run with the member in its
/// environment. A command that exits non-zero, or runs past the timeout, fails the action.
public struct ExecRuntime: MemberRuntime {
  public let cluster: String
  public let config: ExecRuntimeConfig
  public var kind: String { "exec" }

  public init(cluster: String, config: ExecRuntimeConfig) {
    self.cluster = cluster
    self.config = config
  }

  public func dataDir(of name: String) -> String { config.dataDir.replacingOccurrences(of: "{name}", with: name) }

  public func spec(of name: String, listed: EtcdMember?) async -> MemberSpec? {
    guard let listed, let peer = listed.peerURLs.first else { return nil }
    return MemberSpec(name: name, clientURL: listed.clientURLs.first ?? "", peerURL: peer, dataDir: dataDir(of: name))
  }

  public func start(_ member: MemberSpec, initialCluster: [(name: String, peerURL: String)]?) async throws {
    var env: [String: String] = ["VIGIL_INITIAL_CLUSTER_STATE": "existing"]
    if let initialCluster {
      env["VIGIL_INITIAL_CLUSTER"] = initialCluster.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
    }
    _ = try await run("start", config.start, member, extra: env)
  }

  public func stop(_ member: MemberSpec) async throws { _ = try await run("stop", config.stop, member) }
  public func kill(_ member: MemberSpec) async throws { _ = try await run("kill", config.kill, member) }
  public func wipe(_ member: MemberSpec) async throws { _ = try await run("wipe", config.wipe, member) }
  public func retire(_ member: MemberSpec) async throws { _ = try await run("kill", config.kill, member) }

  /// The member's etcd command line from the `arguments` command (one argument a line, or NUL-separated as in
  /// `/proc/PID/cmdline`); nil when none is configured.
  public func arguments(of name: String) async throws -> [String]? {
    guard !config.arguments.isEmpty else { return nil }
    let member = MemberSpec(name: name, clientURL: "", peerURL: "", dataDir: dataDir(of: name))
    let output = try await run("arguments", config.arguments.map { $0.replacingOccurrences(of: "{name}", with: name) }, member)
    return output.split(whereSeparator: { $0 == "\n" || $0 == "\0" }).map(String.init).filter { !$0.isEmpty }
  }

  /// Runs the `restore` command with `VIGIL_SNAPSHOT_FILE`, `VIGIL_INITIAL_CLUSTER` and
  /// `VIGIL_INITIAL_CLUSTER_TOKEN` set: it must retire the member's data dir and write a new one, e.g. with
  /// `etcdctl snapshot restore "$VIGIL_SNAPSHOT_FILE" --name "$VIGIL_MEMBER_NAME" --data-dir "$VIGIL_MEMBER_DATA_DIR"
  /// --initial-cluster "$VIGIL_INITIAL_CLUSTER" --initial-cluster-token "$VIGIL_INITIAL_CLUSTER_TOKEN"
  /// --initial-advertise-peer-urls "$VIGIL_MEMBER_PEER_URL"`.
  public func restore(
    _ member: MemberSpec, snapshot: String, initialCluster: [(name: String, peerURL: String)], token: String
  ) async throws {
    let env = [
      "VIGIL_SNAPSHOT_FILE": snapshot,
      "VIGIL_INITIAL_CLUSTER": initialCluster.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ","),
      "VIGIL_INITIAL_CLUSTER_TOKEN": token,
    ]
    _ = try await run("restore", config.restore, member, extra: env)
  }

  public func provision(name: String) async throws -> MemberSpec {
    let draft = MemberSpec(name: name, clientURL: "", peerURL: "", dataDir: dataDir(of: name))
    let output = try await run("provision", config.provision, draft)
    var values: [String: String] = [:]
    for line in output.split(whereSeparator: \.isNewline) {
      guard let eq = line.firstIndex(of: "=") else { continue }
      values[String(line[..<eq]).trimmingCharacters(in: .whitespaces)] = String(line[line.index(after: eq)...])
        .trimmingCharacters(in: .whitespaces)
    }
    guard let client = values["VIGIL_MEMBER_CLIENT_URL"], let peer = values["VIGIL_MEMBER_PEER_URL"] else {
      throw RuntimeError(
        "the provision command for \(name) printed no VIGIL_MEMBER_CLIENT_URL=… and VIGIL_MEMBER_PEER_URL=… lines (it printed: \(output.prefix(200)))"
      )
    }
    return MemberSpec(name: name, clientURL: client, peerURL: peer, dataDir: values["VIGIL_MEMBER_DATA_DIR"] ?? draft.dataDir)
  }

  /// Runs one configured command; returns its standard output.
  func run(_ action: String, _ command: [String], _ member: MemberSpec, extra: [String: String] = [:]) async throws
    -> String
  {
    guard let program = command.first else { throw RuntimeError("no \(action) command is configured") }
    var env = ProcessInfo.processInfo.environment
    env["VIGIL_CLUSTER"] = cluster
    env["VIGIL_ACTION"] = action
    env["VIGIL_MEMBER_NAME"] = member.name
    env["VIGIL_MEMBER_CLIENT_URL"] = member.clientURL
    env["VIGIL_MEMBER_PEER_URL"] = member.peerURL
    env["VIGIL_MEMBER_DATA_DIR"] = member.dataDir
    for (k, v) in extra { env[k] = v }
    let executable = LocalCluster.findExecutable(program) ?? program
    let result: ChildProcessResult
    do {
      result = try await ChildProcess.run(
        executable, Array(command.dropFirst()), environment: env, timeout: config.timeout.duration)
    } catch {
      throw RuntimeError("\(action) \(member.name): \(error)")
    }
    if result.status == -9 {
      throw RuntimeError("\(action) \(member.name): \(program) ran past \(config.timeout) and was killed")
    }
    guard result.status == 0 else {
      let said = (result.stderr.isEmpty ? result.stdout : result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
      throw RuntimeError("\(action) \(member.name): \(program) exited with status \(result.status): \(said.suffix(300))")
    }
    return result.stdout
  }
}
