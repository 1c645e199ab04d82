import VigilConfig
import VigilCore

extension Monitor: RepairWatch {
  /// The cluster as the repair planner needs it: members with their health,
  /// the current diagnoses, whether fragmentation was found, open incidents.
  /// `mode` and `busy` are the coordinator's to fill in.
  public func repairView(cluster: String) -> ClusterRepairView? {
    guard let guarded = clusters[cluster] else { return nil }
    let leader = watch.leader(cluster: cluster)
    let rows = (members[cluster] ?? []).map { m in
      MemberHealthView(
        name: m.name, isLearner: m.isLearner, health: watch.health(of: .member(m.name, of: cluster)),
        isLeader: leader != 0 && leader == m.id, peerURL: m.peerURLs.first, clientURL: m.endpoint?.description)
    }
    var incidents: [String: Int64] = [:]
    for i in watch.book.open.values where i.cluster == cluster { incidents[i.subject] = i.id }
    let findings = watch.findings[cluster] ?? []
    var view = ClusterRepairView(
      cluster: cluster, tier: guarded.config.tier, mode: .auto, members: rows, diagnoses: watch.diagnoses[cluster] ?? [],
      fragmented: findings.contains { $0.check == "fragmentation" }, incidents: incidents)
    // Defragmented before the quota is reached, when the forecast says the growth is free pages.
    if let forecast = findings.first(where: CapacityForecast.wantsDefragment) {
      view.fragmented = true
      view.defragmentReason = "quota forecast: \(forecast.summary)"
    }
    // Expiring certificates are rotated when the cluster names a command that issues new ones.
    if guarded.config.certificates?.issue.isEmpty == false,
      let expiring = findings.first(where: Inspector.isMemberCertificate)
    {
      view.rotateCertificates = "certificate finding: \(expiring.summary)"
    }
    return view
  }

  /// Adds a repair event to incident `id`: through the book while it is open
  /// (so the writer keeps every change in order), straight to the store once closed.
  public func recordRepair(incident id: Int64, text: String, at: Double, recovered: Bool) async {
    if let directive = watch.repaired(incident: id, text: text, at: at, recovered: recovered) {
      carryOut([directive])
      return
    }
    do {
      try await store.annotate(
        incident: id, IncidentEvent(at: at, kind: "repair", text: text), recoveredAt: recovered ? at : nil)
    } catch {
      logger.error("cannot store a repair event", metadata: ["incident.id": "\(id)", "error": "\(error)"])
    }
  }

  /// `cluster` was restored into a new cluster: members and cluster have new ids, which are not a fault.
  public func clusterRebuilt(cluster: String) async {
    watch.rebuilt(cluster: cluster)
    await refreshMembership(cluster)
  }

  /// Re-reads `cluster`'s member list now (after a membership change) and probes it.
  public func refreshNow(cluster: String) async {
    await refreshMembership(cluster)
    trigger(cluster: cluster, reason: "repair finished")
  }
}
