import VigilConfig
import VigilCore

extension Monitor: RepairWatch {
  /// The cluster as the repair planner needs it: members with their health,
  /// the current diagnoses, whether fragmentation was found, open incidents.
  /// `mode` and `busy` are the coordinator's to fill in.
  public func repairView(cluster: String) -> ClusterRepairView? {
    guard let guarded = clusters[cluster] else { return nil }
    let leader = observers[cluster]?.leader ?? 0
    let rows = (members[cluster] ?? []).map { m in
      MemberHealthView(
        name: m.name, isLearner: m.isLearner, health: subjectStates["\(cluster)/\(m.name)", default: .unknown],
        isLeader: leader != 0 && leader == m.id)
    }
    var incidents: [String: Int64] = [:]
    for i in book.open.values where i.cluster == cluster { incidents[i.subject] = i.id }
    return ClusterRepairView(
      cluster: cluster, tier: guarded.config.tier, mode: .auto, members: rows, diagnoses: diagnoses[cluster] ?? [],
      fragmented: (findings[cluster] ?? []).contains { $0.check == "fragmentation" }, incidents: incidents)
  }

  /// Adds a repair event to incident `id`: through the book while it is open
  /// (so the writer keeps every change in order), straight to the store once closed.
  public func recordRepair(incident id: Int64, text: String, at: Double, recovered: Bool) async {
    if let change = book.repaired(incident: id, text: text, at: at, recovered: recovered) {
      save(change)
      return
    }
    do {
      try await store.annotate(
        incident: id, IncidentEvent(at: at, kind: "repair", text: text), recoveredAt: recovered ? at : nil)
    } catch {
      logger.error("cannot store a repair event", metadata: ["incident.id": "\(id)", "error": "\(error)"])
    }
  }

  /// Re-reads `cluster`'s member list now (after a membership change) and probes it.
  public func refreshNow(cluster: String) async {
    await refreshMembership(cluster)
    trigger(cluster: cluster, reason: "repair finished")
  }
}
