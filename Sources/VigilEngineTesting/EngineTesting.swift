import Foundation
import VigilConfig
import VigilEngine
import VigilRuntime
import VigilTestKit

/// Runs `body` with an engine guarding real local clusters (one per entry of
/// `clusters`, each configured by name with its live endpoints), on a
/// configuration made of `yaml` plus those clusters, in a scratch state
/// directory; stops and shuts the engine down afterwards, also when `body` throws.
///
/// `yaml` holds everything but `stateDir` and `clusters` (backups are off unless it has a `backup:` section); each
/// cluster gets
/// `cluster` (e.g. `tier: test\n    probeSuites: [s]`) as its extra keys.
///
/// ```swift
/// try await withEngine([("c", cluster)], yaml: "probeSuites: …", cluster: "probeSuites: [s]") { engine, dir in
///   #expect(try await eventually { await engine.monitor.health(of: "c") == .healthy })
/// }
/// ```
public func withEngine(
  _ clusters: [(name: String, cluster: LocalCluster)], yaml: String, cluster clusterKeys: String = "",
  perCluster: [String: String] = [:], startRepairs: Bool = true, _ body: (Engine, String) async throws -> Void
) async throws {
  try await withTemporaryDirectory { dir in
    var clusterYAML = ""
    var hookups: [String: ClusterHookup] = [:]
    for (name, cluster) in clusters {
      let endpoints = await cluster.endpoints.map(\.description).joined(separator: ", ")
      clusterYAML += "  - name: \(name)\n    endpoints: [\(endpoints)]\n"
      if !clusterKeys.isEmpty { clusterYAML += "    " + clusterKeys + "\n" }
      if let own = perCluster[name] { clusterYAML += "    " + own + "\n" }
      hookups[name] = ClusterHookup(local: cluster)
    }
    // Backups (a snapshot verified in a scratch etcd at start) only where a test asks for them.
    let backup = yaml.contains("backup:") ? "" : "backup:\n  enabled: false\n"
    let text = "stateDir: \(dir)\n" + backup + yaml + "\nclusters:\n" + clusterYAML
    let configuration = try ConfigLoader.parse(text)
    let engine = try await Engine.build(configuration, hookups: hookups)
    await engine.start(repairs: startRepairs)
    do { try await body(engine, dir) } catch {
      await engine.shutdown()
      throw error
    }
    await engine.shutdown()
  }
}
