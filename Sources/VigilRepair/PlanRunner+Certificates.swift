import Foundation
import VigilConfig
import VigilCore
import VigilEtcd
import VigilProbes
import VigilRuntime

/// `rotate-certificates`: one member at a time, its TLS files replaced and the member restarted with them.
extension PlanRunner {
  /// One file a member reads, and the file that replaces it.
  struct CertificateSwap {
    var live: String
    var next: String
    /// `server`, `server key`, `peer`, `peer key`.
    var role: String
    var isKey: Bool
  }

  func certificateFiles() throws -> CertificateFilesConfig {
    guard let files = cluster.certificates else {
      throw RuntimeError(
        "cluster \(cluster.name) names no certificate files (clusters[].certificates: the files its members read and where the next ones come from)"
      )
    }
    return files
  }

  /// Installs a member's next certificates and restarts it with them (the safety guard has checked that every
  /// other voter is healthy). A member that does not answer with a leader within the member timeout gets its old
  /// files back and is restarted with them; the step fails.
  func rotateMemberCertificates(_ step: PlanStep, _ plan: RepairPlan) async throws -> String {
    let files = try certificateFiles()
    let target = try await stepSpec(step, plan)
    let runtime = try requireRuntime()
    // Issued keys are not left lying about: the scratch directory goes once they are in place (or refused).
    defer { if !files.issue.isEmpty { try? FileManager.default.removeItem(atPath: issueDirectory(plan, target.name)) } }
    let swaps = try await nextCertificates(files, member: target.name, plan: plan)
    let fm = FileManager.default
    // Resumed after the files went in: the member may only need its restart.
    let installed = swaps.allSatisfy { fm.contentsEqual(atPath: $0.live, andPath: $0.next) }
    if !installed {
      for swap in swaps where !swap.isKey {
        try checkNewCertificate(swap)
      }
      for swap in swaps {
        try replace(swap.live, with: swap.next, keeping: swap.live + ".previous")
      }
    }
    do {
      try await runtime.stop(target)
      try await runtime.start(target, initialCluster: nil)
      let answer = try await waitHealthy(clientURL: target.clientURL, name: target.name)
      return "\(target.name) restarted with its new certificates (\(swaps.map(\.role).joined(separator: ", "))); \(answer)"
    } catch {
      // Roll back: the old files, a restart, and the plan stops here for a person.
      for swap in swaps where fm.fileExists(atPath: swap.live + ".previous") {
        try? replace(swap.live, with: swap.live + ".previous", keeping: nil)
      }
      try? await runtime.stop(target)
      try? await runtime.start(target, initialCluster: nil)
      let back = (try? await waitHealthy(clientURL: target.clientURL, name: target.name)) != nil
      throw RuntimeError(
        "\(target.name) did not come back with its new certificates (\(error)); rolled back to its old files"
          + (back ? ", and it answers again" : ", and it does not answer yet"))
    }
  }

  /// The files that replace a member's: put in place beforehand (`newCert`…), or issued now by the `issue` command
  /// into a scratch directory.
  func nextCertificates(_ files: CertificateFilesConfig, member: String, plan: RepairPlan) async throws
    -> [CertificateSwap]
  {
    func path(_ p: String) -> String { CertificateFilesConfig.path(p, member: member) }
    var pairs: [(live: String?, role: String, isKey: Bool, env: String, given: String?)] = [
      (files.cert, "server", false, "VIGIL_NEW_CERT", files.newCert),
      (files.key, "server key", true, "VIGIL_NEW_KEY", files.newKey),
    ]
    if files.peerCert != nil {
      pairs += [
        (files.peerCert, "peer", false, "VIGIL_NEW_PEER_CERT", files.newPeerCert),
        (files.peerKey, "peer key", true, "VIGIL_NEW_PEER_KEY", files.newPeerKey),
      ]
    }
    var swaps: [CertificateSwap] = []
    if files.issue.isEmpty {
      for p in pairs {
        guard let live = p.live, let given = p.given else { continue }
        let next = path(given)
        guard FileManager.default.fileExists(atPath: next) else {
          throw RuntimeError("the new \(p.role) file for \(member), \(next), does not exist")
        }
        swaps.append(CertificateSwap(live: path(live), next: next, role: p.role, isKey: p.isKey))
      }
      return swaps
    }
    let dir = issueDirectory(plan, member)
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(
      atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    var env = ProcessInfo.processInfo.environment
    env["VIGIL_CLUSTER"] = cluster.name
    env["VIGIL_MEMBER_NAME"] = member
    for p in pairs {
      guard let live = p.live else { continue }
      let next = dir + "/" + p.env.lowercased()
      env[p.env] = next
      swaps.append(CertificateSwap(live: path(live), next: next, role: p.role, isKey: p.isKey))
    }
    let program = files.issue[0]
    let result = try await ChildProcess.run(
      LocalCluster.findExecutable(program) ?? program, Array(files.issue.dropFirst()), environment: env,
      timeout: memberTimeout)
    guard result.status == 0 else {
      let said = (result.stderr.isEmpty ? result.stdout : result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
      throw RuntimeError("the issue command \(program) for \(member) exited with status \(result.status): \(said.suffix(300))")
    }
    for swap in swaps where !FileManager.default.fileExists(atPath: swap.next) {
      throw RuntimeError("the issue command \(program) wrote no \(swap.role) file for \(member) (expected \(swap.next))")
    }
    return swaps
  }

  /// Where the `issue` command writes a member's next files (private to Vigil's user, removed after the step).
  func issueDirectory(_ plan: RepairPlan, _ member: String) -> String {
    snapshotDir + "/certificates/plan-\(plan.id)-\(member)"
  }

  /// A new certificate must be one: readable, valid now, and not expiring before the one it replaces.
  func checkNewCertificate(_ swap: CertificateSwap) throws {
    guard let new = (try? CertificateReader.file(swap.next, role: swap.role))?.first else {
      throw RuntimeError("\(swap.next) is not a PEM certificate")
    }
    let now = Date().timeIntervalSince1970
    if new.notAfter <= now { throw RuntimeError("the new \(swap.role) certificate \(swap.next) has expired") }
    if let old = (try? CertificateReader.file(swap.live, role: swap.role))?.first, new.notAfter < old.notAfter {
      throw RuntimeError(
        "the new \(swap.role) certificate \(swap.next) expires before the one it would replace (\(Int(new.notAfter)) < \(Int(old.notAfter)) epoch s)")
    }
  }

  /// Puts `source`'s bytes at `live` atomically (a copy beside it, then a rename), keeping what was there at `keep`.
  func replace(_ live: String, with source: String, keeping keep: String?) throws {
    let fm = FileManager.default
    let data = try Data(contentsOf: URL(fileURLWithPath: source))
    if let keep, fm.fileExists(atPath: live) {
      try? fm.removeItem(atPath: keep)
      try fm.copyItem(atPath: live, toPath: keep)
    }
    let temporary = live + ".vigil-new"
    let attributes = try? fm.attributesOfItem(atPath: live)
    try data.write(to: URL(fileURLWithPath: temporary))
    if let permissions = attributes?[.posixPermissions] {
      try? fm.setAttributes([.posixPermissions: permissions], ofItemAtPath: temporary)
    }
    guard rename(temporary, live) == 0 else {
      throw RuntimeError("cannot put \(source) in place of \(live) (errno \(errno))")
    }
  }

  /// The member serves the certificate its files now hold, on its client port (and its peer port with peer TLS).
  func verifyCertificate(_ step: PlanStep, _ plan: RepairPlan) async throws -> String {
    let files = try certificateFiles()
    let target = try await stepSpec(step, plan)
    var checks: [(url: String, file: String, role: String)] = [
      (target.clientURL, CertificateFilesConfig.path(files.cert, member: target.name), "server")
    ]
    if target.peerURL.hasPrefix("https://") {
      checks.append((target.peerURL, CertificateFilesConfig.path(files.peerCert ?? files.cert, member: target.name), "peer"))
    }
    var said: [String] = []
    for check in checks {
      guard let want = (try? CertificateReader.file(check.file, role: check.role))?.first else {
        throw RuntimeError("\(check.file) is not a PEM certificate")
      }
      let endpoint = try EtcdEndpoint(parsing: check.url)
      let served = try await CertificateReader.remote(host: endpoint.host, port: endpoint.port, role: check.role)
      guard served.notAfter == want.notAfter && served.subject == want.subject else {
        throw RuntimeError(
          "\(target.name) serves a \(check.role) certificate for \(served.subject) until \(Int(served.notAfter)), not the installed one (\(want.subject) until \(Int(want.notAfter)))"
        )
      }
      said.append("\(check.role) \(want.subject) until \(Self.date(want.notAfter))")
    }
    return "\(target.name) serves its new certificates: " + said.joined(separator: "; ")
  }

  static func date(_ epoch: Double) -> String {
    let f = ISO8601DateFormatter()
    return f.string(from: Date(timeIntervalSince1970: epoch))
  }
}
