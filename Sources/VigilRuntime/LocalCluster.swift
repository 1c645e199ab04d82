import Foundation
import Logging
import VigilEtcd

#if canImport(Glibc)
  import Glibc
#endif

/// A failure of the local runtime, with a message that says what to do.
public struct LocalClusterError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// TLS files for a local cluster's client URLs.
public struct LocalClusterTLS: Sendable, Hashable {
  public var caFile: String
  public var certificateFile: String
  public var keyFile: String
  /// Require clients to present a certificate signed by the CA.
  public var clientCertificateAuth: Bool

  /// Members reach each other over TLS too (https peer URLs), with the same files, demanding each other's
  /// certificates.
  public var peer = false
  /// The certificate and key the cluster's own clients present (nil: the members' files, which must then not be
  /// per member).
  public var clientCertificateFile: String?
  public var clientKeyFile: String?

  public init(caFile: String, certificateFile: String, keyFile: String, clientCertificateAuth: Bool = true) {
    self.caFile = caFile
    self.certificateFile = certificateFile
    self.keyFile = keyFile
    self.clientCertificateAuth = clientCertificateAuth
  }

  /// A member's certificate and key: `{name}` in the paths is replaced by its name (a certificate each).
  public func files(of member: String) -> (certificate: String, key: String) {
    (
      certificateFile.replacingOccurrences(of: "{name}", with: member),
      keyFile.replacingOccurrences(of: "{name}", with: member)
    )
  }
}

/// A place a member can run other than loopback: an address and the command
/// prefix that runs a program there (e.g. `ip netns exec NAME` for a test host
/// in a network namespace).
public struct LocalHost: Sendable, Hashable {
  public var name: String
  public var address: String
  public var launcher: [String]

  public init(name: String, address: String, launcher: [String]) {
    self.name = name
    self.address = address
    self.launcher = launcher
  }
}

/// How to start a local cluster.
public struct LocalClusterOptions: Sendable {
  public var members: Int
  /// State directory (one sub-directory per member). Nil: a fresh temporary
  /// directory, removed at shutdown.
  public var directory: String?
  public var etcdBinary: String = "etcd"
  public var tls: LocalClusterTLS?
  /// `--quota-backend-bytes` (nil: etcd's default, 2 GiB).
  public var quotaBackendBytes: Int64?
  /// Any further etcd flags, passed to every member.
  public var extraArguments: [String] = []
  /// How long members may take to start and elect a leader.
  public var startTimeout: Duration = .seconds(60)
  /// Where members run. Empty: loopback, free ports. Otherwise member i runs on
  /// `hosts[i]`, on its address with ports 2379/2380 (+100 for each later member
  /// placed there), and a new member goes to the host with the fewest members.
  public var hosts: [LocalHost] = []
  /// Bootstrap every member from this snapshot file (`etcdctl snapshot restore`) instead of empty.
  public var snapshot: String?

  public init(members: Int = 3, directory: String? = nil) {
    self.members = members
    self.directory = directory
  }
}

/// One member's fixed identity in the local runtime.
public struct LocalMember: Sendable, Hashable {
  public let name: String
  public let clientEndpoint: EtcdEndpoint
  public let peerURL: String
  public let directory: String
  /// The ``LocalHost`` it runs on (nil: loopback).
  public var host: String? = nil
  public var dataDir: String { directory + "/data" }
  public var logFile: String { directory + "/etcd.log" }
}

/// What the runtime believes a member's process is doing.
public enum LocalMemberState: String, Sendable, Hashable {
  case running, frozen, stopped, notStarted = "not started"
}

/// Runs an etcd cluster as real `etcd` processes on loopback.
///
/// Every member gets free ports picked at run time, its own data dir and a
/// captured log under the state directory. Members can be stopped, killed,
/// frozen, wiped, started again, and new members can join. No process
/// outlives its owner: ``shutdown()`` stops them, and a small reaper process
/// kills them if the owner dies without calling it (even by `kill -9`).
public actor LocalCluster {
  public nonisolated let directory: String
  public nonisolated let options: LocalClusterOptions
  public nonisolated let clusterToken: String
  private let removeDirectoryOnShutdown: Bool
  private let logger: Logger
  private var records: [String: Record] = [:]
  private var order: [String] = []
  private var reaper: Process?
  private var isShutDown = false
  /// Members ever placed on each host (their ports are never reused).
  private var placedOnHost: [String: Int] = [:]

  private struct Record {
    var member: LocalMember
    var process: Process?
    var state: LocalMemberState
    /// The etcd arguments it was last started with.
    var arguments: [String]? = nil
  }

  private init(options: LocalClusterOptions, directory: String, removeOnShutdown: Bool, logger: Logger) {
    self.options = options
    self.directory = directory
    self.removeDirectoryOnShutdown = removeOnShutdown
    self.clusterToken = "vigil-\(UInt32.random(in: 0...UInt32.max))"
    self.logger = logger
  }

  /// Starts a new cluster and waits until every member is healthy with a leader.
  /// - Throws: ``LocalClusterError`` naming the member and pointing at its log.
  public static func start(
    _ options: LocalClusterOptions = LocalClusterOptions(), logger: Logger = Logger(label: "vigil.local")
  ) async throws -> LocalCluster {
    guard (1...9).contains(options.members) else {
      throw LocalClusterError("--members \(options.members) is out of range (expected 1 to 9)")
    }
    guard let binary = findExecutable(options.etcdBinary) else {
      throw LocalClusterError(
        "cannot find the etcd binary \"\(options.etcdBinary)\" (install it with: apt-get install -y etcd-server)")
    }
    var opts = options
    opts.etcdBinary = binary
    let removeOnShutdown = options.directory == nil
    let dir =
      options.directory
      ?? FileManager.default.temporaryDirectory.appendingPathComponent("vigil-cluster-\(UUID().uuidString.prefix(8))")
      .path
    do {
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    } catch {
      throw LocalClusterError("cannot create state directory \"\(dir)\": \(error.localizedDescription)")
    }
    let cluster = LocalCluster(options: opts, directory: dir, removeOnShutdown: removeOnShutdown, logger: logger)
    do {
      try await cluster.bootstrap()
    } catch {
      await cluster.shutdown()
      throw error
    }
    return cluster
  }

  private func bootstrap() async throws {
    try startReaper()
    guard options.hosts.isEmpty || options.hosts.count >= options.members else {
      throw LocalClusterError("\(options.members) members need as many hosts (\(options.hosts.count) given)")
    }
    let ports = options.hosts.isEmpty ? try FreePort.pick(count: options.members * 2) : []
    for i in 0..<options.members {
      let member =
        options.hosts.isEmpty
        ? try makeMember(name: "m\(i + 1)", clientPort: ports[2 * i], peerPort: ports[2 * i + 1])
        : try makeMember(name: "m\(i + 1)", on: options.hosts[i])
      records[member.name] = Record(member: member, process: nil, state: .notStarted)
      order.append(member.name)
    }
    let initial = order.map { "\($0)=\(records[$0]!.member.peerURL)" }.joined(separator: ",")
    if let snapshot = options.snapshot {
      let peers = order.map { (name: $0, peerURL: records[$0]!.member.peerURL) }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for name in order {
          let member = records[name]!.member
          group.addTask { [clusterToken] in
            try await EtcdSnapshotTool.restore(
              snapshot: snapshot, name: name, peerURL: member.peerURL, initialCluster: peers, token: clusterToken,
              dataDir: member.dataDir)
          }
        }
        try await group.waitForAll()
      }
    }
    for name in order {
      try launch(name, initialCluster: initial, state: "new")
    }
    try await waitHealthy(order)
  }

  /// Replaces a stopped member's data dir with one restored from `snapshot` for a new cluster (every member
  /// of which is restored from the same snapshot with the same `token`). The old data dir is moved aside as
  /// `data.retired-TIME` and never used again.
  public func restore(
    _ name: String, snapshot: String, initialCluster: [(name: String, peerURL: String)], token: String
  ) async throws {
    guard let record = records[name] else { throw unknown(name) }
    guard record.state != .running || record.process?.isRunning != true, record.state != .frozen else {
      throw LocalClusterError("member \"\(name)\" is \(record.state.rawValue); stop it before restoring it")
    }
    let dataDir = record.member.dataDir
    if FileManager.default.fileExists(atPath: dataDir) {
      let retired = "\(dataDir).retired-\(Int(Date().timeIntervalSince1970 * 1000))"
      do { try FileManager.default.moveItem(atPath: dataDir, toPath: retired) } catch {
        throw LocalClusterError("cannot retire \(dataDir) before restoring \(name): \(error.localizedDescription)")
      }
    }
    try await EtcdSnapshotTool.restore(
      snapshot: snapshot, name: name, peerURL: record.member.peerURL, initialCluster: initialCluster, token: token,
      dataDir: dataDir)
    records[name]!.state = .stopped
  }

  // MARK: inspection

  /// Members in the order they were created (removed ones are forgotten).
  public var members: [LocalMember] { order.compactMap { records[$0]?.member } }

  /// Client endpoints of every member.
  public var endpoints: [EtcdEndpoint] { members.map(\.clientEndpoint) }

  /// Client endpoints as a comma-separated list (for `--endpoints`).
  public var endpointList: String { endpoints.map(\.description).joined(separator: ",") }

  public func member(_ name: String) throws -> LocalMember {
    guard let record = records[name] else { throw unknown(name) }
    return record.member
  }

  public func state(of name: String) throws -> LocalMemberState {
    guard let record = records[name] else { throw unknown(name) }
    return record.state
  }

  /// The process id of a running or frozen member.
  public func pid(of name: String) throws -> Int32? {
    guard let record = records[name] else { throw unknown(name) }
    return record.process?.isRunning == true ? record.process?.processIdentifier : nil
  }

  // MARK: faults and repairs

  /// Stops a member gracefully (SIGTERM, then SIGKILL after 5 s).
  public func stop(_ name: String) async throws {
    try await terminate(name, signal: SIGTERM)
  }

  /// Kills a member with SIGKILL, as a crash would.
  public func kill(_ name: String) async throws {
    try await terminate(name, signal: SIGKILL)
  }

  /// Kills several members with SIGKILL in the same instant (every signal is sent before any exit is awaited),
  /// as a shared power or host failure would: no one of them is seen failing alone first.
  public func kill(_ names: [String]) async throws {
    var waiting: [(name: String, process: Process)] = []
    for name in names {
      guard let record = records[name] else { throw unknown(name) }
      guard let process = record.process, process.isRunning else {
        records[name]!.state = .stopped
        continue
      }
      _ = Glibc.kill(process.processIdentifier, SIGKILL)
      waiting.append((name, process))
    }
    for (name, process) in waiting {
      await Self.waitForExit(process, timeout: .seconds(10))
      records[name]!.state = .stopped
      try? FileManager.default.removeItem(atPath: records[name]!.member.directory + "/etcd.pid")
    }
  }

  /// The etcd arguments a member was last started with (nil: never started here).
  public func arguments(of name: String) -> [String]? { records[name]?.arguments }

  /// Freezes a member with SIGSTOP: the process lives, its sockets stay open, nothing answers.
  public func freeze(_ name: String) throws {
    let record = try running(name)
    guard Glibc.kill(record.process!.processIdentifier, SIGSTOP) == 0 else {
      throw LocalClusterError("cannot freeze member \"\(name)\" (errno \(errno))")
    }
    records[name]!.state = .frozen
  }

  /// Thaws a frozen member with SIGCONT.
  public func unfreeze(_ name: String) throws {
    guard let record = records[name] else { throw unknown(name) }
    guard record.state == .frozen, let process = record.process else {
      throw LocalClusterError("member \"\(name)\" is \(record.state.rawValue), not frozen")
    }
    _ = Glibc.kill(process.processIdentifier, SIGCONT)
    records[name]!.state = .running
  }

  /// Deletes a stopped member's data dir (its identity and data are gone).
  public func wipe(_ name: String) throws {
    guard let record = records[name] else { throw unknown(name) }
    guard record.state == .stopped || record.state == .notStarted else {
      throw LocalClusterError("member \"\(name)\" is \(record.state.rawValue); stop or kill it before wiping its data")
    }
    try? FileManager.default.removeItem(atPath: record.member.dataDir)
  }

  /// Starts a stopped member again with its data dir (as after a crash).
  /// - Parameter waitHealthy: wait until it answers with a leader.
  public func start(_ name: String, waitHealthy: Bool = true) async throws {
    guard var record = records[name] else { throw unknown(name) }
    if record.state == .running, record.process?.isRunning != true {
      record.state = .stopped  // it died on its own (a crash): it can be started again
      records[name] = record
    }
    guard record.state == .stopped || record.state == .notStarted else {
      throw LocalClusterError("member \"\(name)\" is already \(record.state.rawValue)")
    }
    let initial = order.compactMap { records[$0] }.map { "\($0.member.name)=\($0.member.peerURL)" }
      .joined(separator: ",")
    try launch(name, initialCluster: initial, state: "existing")
    if waitHealthy { try await self.waitHealthy([name]) }
  }

  /// Reserves ports and a directory for a brand-new member (not started).
  /// Add it to the cluster (`cluster.add(peerURLs:learner:)`), then call
  /// ``startJoining(_:initialCluster:waitHealthy:)``.
  public func prepareMember(name: String) throws -> LocalMember {
    guard records[name] == nil else { throw LocalClusterError("a member named \"\(name)\" already exists") }
    let member: LocalMember
    if options.hosts.isEmpty {
      let ports = try FreePort.pick(count: 2)
      member = try makeMember(name: name, clientPort: ports[0], peerPort: ports[1])
    } else {
      let load = Dictionary(grouping: records.values.compactMap(\.member.host), by: { $0 }).mapValues(\.count)
      let host = options.hosts.min { load[$0.name, default: 0] < load[$1.name, default: 0] }!
      member = try makeMember(name: name, on: host)
    }
    records[name] = Record(member: member, process: nil, state: .notStarted)
    order.append(name)
    return member
  }

  /// Starts a prepared member with `--initial-cluster-state existing`.
  /// - Parameter initialCluster: every member's `name=peerURL`, this one included,
  ///   as etcd listed them after the member was added.
  public func startJoining(_ name: String, initialCluster: [(name: String, peerURL: String)], waitHealthy: Bool = true)
    async throws
  {
    guard let record = records[name] else { throw unknown(name) }
    guard record.state == .notStarted else {
      throw LocalClusterError("member \"\(name)\" was already started; a new member needs a new name")
    }
    let initial = initialCluster.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
    try launch(name, initialCluster: initial, state: "existing")
    if waitHealthy { try await self.waitHealthy([name]) }
  }

  /// Stops a member and drops it from the runtime (after it was removed from
  /// the cluster). Its directory stays on disk and is never reused.
  public func forget(_ name: String) async throws {
    if let record = records[name], record.state == .running || record.state == .frozen {
      try await terminate(name, signal: SIGKILL)
    }
    records[name] = nil
    order.removeAll { $0 == name }
  }

  /// Stops every member and the reaper; removes a temporary state directory.
  /// - Parameter graceful: send SIGTERM first and give members `grace` to
  ///   exit (as `vigil cluster up` does); otherwise SIGKILL at once (tests).
  public func shutdown(graceful: Bool = false, grace: Duration = .seconds(5)) async {
    guard !isShutDown else { return }
    isShutDown = true
    let running = order.compactMap { records[$0]?.process }.filter(\.isRunning)
    if graceful {
      for process in running {
        _ = Glibc.kill(process.processIdentifier, SIGCONT)  // a frozen member cannot handle SIGTERM
        _ = Glibc.kill(process.processIdentifier, SIGTERM)
      }
      let deadline = ContinuousClock.now + grace
      for process in running {
        await Self.waitForExit(process, timeout: Swift.max(.zero, deadline - ContinuousClock.now))
      }
    }
    for process in running where process.isRunning {
      _ = Glibc.kill(process.processIdentifier, SIGKILL)
    }
    for name in order {
      if let process = records[name]?.process { await Self.waitForExit(process, timeout: .seconds(5)) }
      records[name]?.state = .stopped
      try? FileManager.default.removeItem(atPath: records[name]!.member.directory + "/etcd.pid")
    }
    if let reaper, reaper.isRunning {
      _ = Glibc.kill(reaper.processIdentifier, SIGKILL)
      await Self.waitForExit(reaper, timeout: .seconds(2))
    }
    if removeDirectoryOnShutdown { try? FileManager.default.removeItem(atPath: directory) }
  }

  /// Waits until each named member answers a status call and knows a leader.
  public func waitHealthy(_ names: [String], timeout: Duration? = nil) async throws {
    let deadline = ContinuousClock.now + (timeout ?? options.startTimeout)
    for name in names {
      let member = try self.member(name)
      let client = try EtcdClient(configuration: clientConfiguration(endpoints: [member.clientEndpoint]))
      do {
        try await waitHealthy(member, client: client, deadline: deadline)
        await client.shutdown()
      } catch {
        await client.shutdown()
        throw error
      }
    }
  }

  private func waitHealthy(_ member: LocalMember, client: EtcdClient, deadline: ContinuousClock.Instant) async throws {
    var lastError = "no answer yet"
    while true {
      if let process = records[member.name]?.process, !process.isRunning {
        throw LocalClusterError(
          "member \"\(member.name)\" exited with status \(process.terminationStatus) while starting; see \(member.logFile)\(Self.tail(member.logFile))"
        )
      }
      do {
        let status = try await client.maintenance.status()
        if status.leader != 0 { return }
        lastError = "no leader yet"
      } catch {
        lastError = error.message
      }
      if ContinuousClock.now > deadline {
        throw LocalClusterError("member \"\(member.name)\" not healthy in time (\(lastError)); see \(member.logFile)")
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  /// A client configuration for this cluster (TLS files included when it has TLS).
  public nonisolated func clientConfiguration(endpoints: [EtcdEndpoint]) -> EtcdClientConfiguration {
    var config = EtcdClientConfiguration(endpoints: endpoints)
    if let tls = options.tls {
      config.tls = EtcdTLSConfiguration(
        caFile: tls.caFile, certificateFile: tls.clientCertificateFile ?? tls.certificateFile,
        keyFile: tls.clientKeyFile ?? tls.keyFile)
    }
    return config
  }

  // MARK: internals

  private func makeMember(name: String, address: String = "127.0.0.1", clientPort: Int, peerPort: Int) throws
    -> LocalMember
  {
    let memberDir = directory + "/" + name
    if FileManager.default.fileExists(atPath: memberDir + "/data") {
      throw LocalClusterError(
        "\(memberDir) already holds a data dir; a new member never reuses one (choose another --dir or remove it)")
    }
    try FileManager.default.createDirectory(atPath: memberDir, withIntermediateDirectories: true)
    let scheme: EtcdEndpoint.Scheme = options.tls == nil ? .http : .https
    return LocalMember(
      name: name, clientEndpoint: EtcdEndpoint(scheme: scheme, host: address, port: clientPort),
      peerURL: "\(options.tls?.peer == true ? "https" : "http")://\(address):\(peerPort)", directory: memberDir)
  }

  private func makeMember(name: String, on host: LocalHost) throws -> LocalMember {
    let k = placedOnHost[host.name, default: 0]
    placedOnHost[host.name] = k + 1
    var member = try makeMember(name: name, address: host.address, clientPort: 2379 + 100 * k, peerPort: 2380 + 100 * k)
    member.host = host.name
    return member
  }

  private func launch(_ name: String, initialCluster: String, state: String) throws {
    guard var record = records[name] else { throw unknown(name) }
    let m = record.member
    var args = [
      "--name", m.name,
      "--data-dir", m.dataDir,
      "--listen-client-urls", m.clientEndpoint.description,
      "--advertise-client-urls", m.clientEndpoint.description,
      "--listen-peer-urls", m.peerURL,
      "--initial-advertise-peer-urls", m.peerURL,
      "--initial-cluster", initialCluster,
      "--initial-cluster-state", state,
      "--initial-cluster-token", clusterToken,
      "--logger", "zap", "--log-outputs", "stderr",
    ]
    if let tls = options.tls {
      let files = tls.files(of: m.name)
      args += ["--cert-file", files.certificate, "--key-file", files.key, "--trusted-ca-file", tls.caFile]
      if tls.clientCertificateAuth { args += ["--client-cert-auth"] }
      if tls.peer {
        args += [
          "--peer-cert-file", files.certificate, "--peer-key-file", files.key, "--peer-trusted-ca-file", tls.caFile,
          "--peer-client-cert-auth",
        ]
      }
    }
    if let quota = options.quotaBackendBytes { args += ["--quota-backend-bytes", String(quota)] }
    args += options.extraArguments
    let process = Process()
    if let launcher = options.hosts.first(where: { $0.name == m.host })?.launcher, let program = launcher.first {
      process.executableURL = URL(fileURLWithPath: program)  // e.g. `ip netns exec NAME`, which execs etcd: same pid
      process.arguments = Array(launcher.dropFirst()) + [options.etcdBinary] + args
    } else {
      process.executableURL = URL(fileURLWithPath: options.etcdBinary)
      process.arguments = args
    }
    if !FileManager.default.fileExists(atPath: m.logFile) {
      _ = FileManager.default.createFile(atPath: m.logFile, contents: nil)
    }
    guard let log = FileHandle(forWritingAtPath: m.logFile) else {
      throw LocalClusterError("cannot open log file \(m.logFile)")
    }
    log.seekToEndOfFile()
    process.standardOutput = log
    process.standardError = log
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch {
      throw LocalClusterError("cannot start etcd for member \"\(name)\": \(error.localizedDescription)")
    }
    try? log.close()
    try? String(process.processIdentifier).write(toFile: m.directory + "/etcd.pid", atomically: true, encoding: .utf8)
    record.process = process
    record.state = .running
    record.arguments = args
    records[name] = record
    logger.debug("started etcd", metadata: ["member.name": "\(name)", "member.pid": "\(process.processIdentifier)"])
  }

  private func terminate(_ name: String, signal: Int32) async throws {
    guard let record = records[name] else { throw unknown(name) }
    guard let process = record.process, process.isRunning else {
      records[name]!.state = .stopped
      return
    }
    let pid = process.processIdentifier
    if record.state == .frozen && signal != SIGKILL { _ = Glibc.kill(pid, SIGCONT) }
    _ = Glibc.kill(pid, signal)
    if !(await Self.waitForExit(process, timeout: .seconds(5))) {
      _ = Glibc.kill(pid, SIGKILL)
      await Self.waitForExit(process, timeout: .seconds(5))
    }
    records[name]!.state = .stopped
    try? FileManager.default.removeItem(atPath: record.member.directory + "/etcd.pid")
  }

  private func running(_ name: String) throws -> Record {
    guard let record = records[name] else { throw unknown(name) }
    guard record.state == .running, record.process?.isRunning == true else {
      throw LocalClusterError("member \"\(name)\" is \(record.state.rawValue), not running")
    }
    return record
  }

  private func unknown(_ name: String) -> LocalClusterError {
    LocalClusterError("no member named \"\(name)\" (members: \(order.joined(separator: ", ")))")
  }

  /// A shell loop that outlives nothing: it waits for this process to die,
  /// then SIGKILLs every etcd whose pid file is still in the state directory.
  private func startReaper() throws {
    let cleanup = "for f in '\(directory)'/*/etcd.pid; do [ -f \"$f\" ] && kill -9 \"$(cat \"$f\")\" 2>/dev/null; done"
    do { reaper = try Reaper.start(cleanup: cleanup) } catch {
      throw LocalClusterError("cannot start the process reaper: \(error.localizedDescription)")
    }
  }

  @discardableResult
  static func waitForExit(_ process: Process, timeout: Duration) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
      if ContinuousClock.now > deadline { return false }
      try? await Task.sleep(for: .milliseconds(5))
    }
    return true
  }

  static func tail(_ path: String) -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
    let lines = text.split(separator: "\n").suffix(3)
    return lines.isEmpty ? "" : "\n" + lines.joined(separator: "\n")
  }

  /// `name` itself when it is a path to an executable, else the first match on `PATH`.
  public static func findExecutable(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") {
      let candidate = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}
