import Foundation
import VigilCore

extension Monitor {
  static func logLoopName(_ cluster: String) -> String { "logs:\(cluster)" }

  /// Reads the members' logs of `cluster` every `inspections.logInterval` while this replica guards it.
  func logLoop(_ cluster: String) async {
    let name = Self.logLoopName(cluster)
    let interval = configuration.inspections.logInterval.duration
    while !Task.isCancelled {
      await liveness.checkpoint(name)
      if await guards(cluster) { await readLogs(cluster: cluster) }
      liveness.turned(name)
      try? await Task.sleep(for: interval)
    }
  }

  /// One turn: a read of each member's log (a command may take up to 10 s), then the diagnosis.
  var logPeriod: Duration { configuration.inspections.logInterval.duration + .seconds(12) }

  /// Reads what is new in each listed member's log, matches it against etcd's signatures and hands the matches
  /// to the watch (evidence for the diagnosis and the log findings).
  func readLogs(cluster: String) async {
    guard let guarded = clusters[cluster], let source = guarded.logSource else { return }
    let listed = members[cluster] ?? []
    var matches: [LogMatch] = []
    var keys: Set<String> = []
    for m in listed {
      guard let where_ = await source(m.name) else { continue }
      let key = "\(cluster)/\(m.name)"
      keys.insert(key)
      let at = Self.now()
      do {
        let text = try await logReader.read(key, where_, now: at)
        matches += LogScanner.scan(text, member: m.name, at: at, signatures: LogSignature.etcd34)
        if logReadErrors.removeValue(forKey: key) != nil {
          logger.info("member log readable again", metadata: ["cluster": "\(cluster)", "member.name": "\(m.name)"])
        }
      } catch {
        let text = "\(error)"
        if logReadErrors[key] != text {
          logReadErrors[key] = text
          logger.warning(
            "cannot read a member's log", metadata: ["cluster": "\(cluster)", "member.name": "\(m.name)", "error": "\(text)"])
        }
      }
    }
    await logReader.forget(under: "\(cluster)/", except: keys)
    for m in matches {
      metrics.logMatched(cluster: cluster, member: m.member, signal: m.signal)
    }
    carryOut(watch.logged(cluster: cluster, matches, at: Self.now()))
  }
}
