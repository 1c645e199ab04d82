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

  /// One turn: every member's log read at once (a command may take up to 10 s), then the diagnosis.
  var logPeriod: Duration {
    configuration.inspections.logInterval.duration + MemberLogReader.commandTimeout + .seconds(2)
  }

  /// Reads what is new in each listed member's log (all at once), matches it against etcd's signatures and hands
  /// the matches to the watch (evidence for the diagnosis and the log findings).
  func readLogs(cluster: String) async {
    guard let guarded = clusters[cluster], let sourceOf = guarded.logSource else { return }
    var sources: [(member: String, key: String, source: MemberLogSource)] = []
    for m in members[cluster] ?? [] {
      if let source = await sourceOf(m.name) { sources.append((m.name, "\(cluster)/\(m.name)", source)) }
    }
    let reader = logReader
    let read = await withTaskGroup(of: (member: String, key: String, text: Result<Substring, any Error>).self) { group in
      for s in sources {
        group.addTask {
          do { return (s.member, s.key, .success(try await reader.read(s.key, s.source, now: Self.now()))) } catch {
            return (s.member, s.key, .failure(error))
          }
        }
      }
      return await group.reduce(into: []) { $0.append($1) }
    }
    var matches: [LogMatch] = []
    for r in read.sorted(by: { $0.member < $1.member }) {
      switch r.text {
      case .success(let text):
        matches += LogScanner.scan(text, member: r.member, at: Self.now(), signatures: LogSignature.etcd34)
        if logReadErrors.removeValue(forKey: r.key) != nil {
          logger.info("member log readable again", metadata: ["cluster": "\(cluster)", "member.name": "\(r.member)"])
        }
      case .failure(let error):
        // Said once until it changes, not every turn.
        let text = "\(error)"
        if logReadErrors[r.key] != text {
          logReadErrors[r.key] = text
          logger.warning(
            "cannot read a member's log",
            metadata: ["cluster": "\(cluster)", "member.name": "\(r.member)", "error": "\(text)"])
        }
      }
    }
    // Members that left the cluster are forgotten.
    let keys = Set(sources.map(\.key))
    for key in logReadErrors.keys where key.hasPrefix("\(cluster)/") && !keys.contains(key) { logReadErrors[key] = nil }
    await logReader.forget(under: "\(cluster)/", except: keys)
    for m in matches { metrics.logMatched(cluster: cluster, member: m.member, signal: m.signal) }
    carryOut(watch.logged(cluster: cluster, matches, at: Self.now()))
  }
}
