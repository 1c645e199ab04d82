import Foundation
import VigilAPI
import VigilCore

extension Monitor {
  public func status() async -> MonitorStatus {
    var out: [MonitorStatus.ClusterStatus] = []
    for name in clusters.keys.sorted() {
      let guarded = clusters[name]!
      let clusterDiagnoses = watch.diagnoses[name] ?? []
      let memberRows = (members[name] ?? []).map { m in
        MonitorStatus.MemberStatus(
          name: m.name, id: String(m.id, radix: 16), endpoint: m.endpoint?.description, learner: m.isLearner,
          health: watch.health(of: .member(m.name, of: name)),
          diagnosis: clusterDiagnoses.first { $0.member == m.name }.map { "\($0.fault.rawValue): \($0.reason)" })
      }
      let probeLines = targets.values.filter { $0.cluster == name }.sorted { $0.key < $1.key }.map { t in
        let last = watch.latest[t.key]
        return MonitorStatus.ProbeStatusLine(
          subject: t.subject, probe: t.probe.name, health: watch.detectors[t.key]?.state ?? .unknown,
          lastOK: last?.observation.succeeded, lastMessage: last?.observation.detail,
          lastLatencyMs: last.map { $0.observation.latency.seconds * 1000 }, lastAt: last?.at, runs: last?.runs ?? 0)
      }
      out.append(
        MonitorStatus.ClusterStatus(
          name: name, tier: guarded.config.tier, health: watch.health(of: Subject(cluster: name)),
          endpoints: guarded.client.endpoints.map(\.description), members: memberRows,
          diagnoses: clusterDiagnoses, findings: watch.findings[name] ?? [], probes: probeLines,
          openIncidents: watch.openIncidents(cluster: name), standby: await guarded.standby?()))
    }
    return MonitorStatus(generatedAt: Self.now(), clusters: out)
  }

  /// The health state of a subject (`cluster` or `cluster/member`).
  public func health(of subject: String) -> HealthState { watch.health(of: Subject(key: subject)) }

  /// Open incidents, oldest first.
  public var openIncidents: [Incident] { watch.book.open.values.sorted { $0.openedAt < $1.openedAt } }

  public func currentDiagnoses(cluster: String) -> [Diagnosis] { watch.diagnoses[cluster] ?? [] }
}
