import Foundation

/// etcd's own restore tool, `etcdctl snapshot restore` (Debian's `etcd-client`): it checks the snapshot's
/// trailing sha256 and writes a member's data dir for a new cluster. Vigil restores with it, so a Vigil
/// snapshot is exactly what a person would restore by hand.
public enum EtcdSnapshotTool {
  /// Writes `dataDir` (which must not exist) for member `name` of a new cluster from `snapshot`.
  /// - Parameters:
  ///   - initialCluster: every member of the new cluster as `name=peerURL`.
  ///   - token: the new cluster's token (a restored cluster never shares the old one's).
  public static func restore(
    snapshot: String, name: String, peerURL: String, initialCluster: [(name: String, peerURL: String)], token: String,
    dataDir: String, etcdctl: String = "etcdctl"
  ) async throws {
    guard let tool = LocalCluster.findExecutable(etcdctl) else {
      throw RuntimeError("cannot find \(etcdctl) (install it with: apt-get install -y etcd-client)")
    }
    if FileManager.default.fileExists(atPath: dataDir) {
      throw RuntimeError("cannot restore \(name) into \(dataDir): it exists (a data dir is never reused)")
    }
    var environment = ProcessInfo.processInfo.environment
    environment["ETCDCTL_API"] = "3"
    let arguments = [
      "snapshot", "restore", snapshot, "--name", name, "--data-dir", dataDir,
      "--initial-cluster", initialCluster.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ","),
      "--initial-cluster-token", token, "--initial-advertise-peer-urls", peerURL,
    ]
    let result = try await ChildProcess.run(tool, arguments, environment: environment, timeout: .seconds(600))
    guard result.status == 0 else {
      let said = (result.stderr.isEmpty ? result.stdout : result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
      throw RuntimeError("etcdctl snapshot restore of \(snapshot) for \(name) failed (status \(result.status)): \(said.suffix(400))")
    }
  }
}
