import VigilCore

/// What `/status` returns: every cluster's health, members, diagnoses,
/// latest findings, probes and open incidents.
public struct MonitorStatus: Sendable, Codable {
  public var generatedAt: Double
  public var clusters: [ClusterStatus]

  public init(generatedAt: Double, clusters: [ClusterStatus]) {
    self.generatedAt = generatedAt
    self.clusters = clusters
  }

  public struct ClusterStatus: Sendable, Codable {
    public var name: String
    public var tier: String
    public var health: HealthState
    public var endpoints: [String]
    public var members: [MemberStatus]
    public var diagnoses: [Diagnosis]
    public var findings: [Finding]
    public var probes: [ProbeStatusLine]
    public var openIncidents: [Incident]
    /// Its standby mirror, when it has one.
    public var standby: StandbyStatus?

    public init(
      name: String, tier: String, health: HealthState, endpoints: [String], members: [MemberStatus],
      diagnoses: [Diagnosis], findings: [Finding], probes: [ProbeStatusLine], openIncidents: [Incident],
      standby: StandbyStatus? = nil
    ) {
      self.name = name
      self.tier = tier
      self.health = health
      self.endpoints = endpoints
      self.members = members
      self.diagnoses = diagnoses
      self.findings = findings
      self.probes = probes
      self.openIncidents = openIncidents
      self.standby = standby
    }
  }

  public struct MemberStatus: Sendable, Codable {
    public var name: String
    public var id: String
    public var endpoint: String?
    public var learner: Bool
    public var health: HealthState
    public var diagnosis: String?

    public init(name: String, id: String, endpoint: String?, learner: Bool, health: HealthState, diagnosis: String?) {
      self.name = name
      self.id = id
      self.endpoint = endpoint
      self.learner = learner
      self.health = health
      self.diagnosis = diagnosis
    }
  }

  public struct ProbeStatusLine: Sendable, Codable {
    public var subject: String
    public var probe: String
    public var health: HealthState
    public var lastOK: Bool?
    public var lastMessage: String?
    public var lastLatencyMs: Double?
    public var lastAt: Double?
    public var runs: Int

    public init(
      subject: String, probe: String, health: HealthState, lastOK: Bool?, lastMessage: String?, lastLatencyMs: Double?,
      lastAt: Double?, runs: Int
    ) {
      self.subject = subject
      self.probe = probe
      self.health = health
      self.lastOK = lastOK
      self.lastMessage = lastMessage
      self.lastLatencyMs = lastLatencyMs
      self.lastAt = lastAt
      self.runs = runs
    }
  }
}
