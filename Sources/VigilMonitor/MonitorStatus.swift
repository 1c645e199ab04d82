import VigilCore

/// What `/status` returns: every cluster's health, members, diagnoses,
/// latest findings, probes and open incidents.
public struct MonitorStatus: Sendable, Codable {
  public var generatedAt: Double
  public var clusters: [ClusterStatus]

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
  }

  public struct MemberStatus: Sendable, Codable {
    public var name: String
    public var id: String
    public var endpoint: String?
    public var learner: Bool
    public var health: HealthState
    public var diagnosis: String?
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
  }
}

/// One on-demand probe run, as `vigil probe run` prints it.
public struct ProbeRunReport: Sendable, Codable {
  public var cluster: String
  public var subject: String
  public var probe: String
  public var status: String
  public var ok: Bool
  public var failure: String?
  public var message: String
  public var latencyMs: Double
  public var steps: [Step]
  public var metrics: [String: Double]

  public struct Step: Sendable, Codable {
    public var name: String
    public var latencyMs: Double
    public var ok: Bool
  }
}
