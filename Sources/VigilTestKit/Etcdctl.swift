import Foundation
import VigilRuntime

/// etcd's own command-line client (the Go client), run against `127.0.0.1:port` with short deadlines: what a
/// test uses to show a real third-party client works (through a proxy, after a failover).
public func etcdctl(port: Int, _ args: String...) async throws -> ChildProcessResult {
  guard let tool = LocalCluster.findExecutable("etcdctl") else {
    throw RuntimeError("cannot find etcdctl (install it with: apt-get install -y etcd-client)")
  }
  return try await ChildProcess.run(
    tool, ["--endpoints=127.0.0.1:\(port)", "--dial-timeout=2s", "--command-timeout=5s"] + args, timeout: .seconds(30))
}
