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

  public init(
    cluster: String, subject: String, probe: String, status: String, ok: Bool, failure: String?, message: String,
    latencyMs: Double, steps: [Step], metrics: [String: Double]
  ) {
    self.cluster = cluster
    self.subject = subject
    self.probe = probe
    self.status = status
    self.ok = ok
    self.failure = failure
    self.message = message
    self.latencyMs = latencyMs
    self.steps = steps
    self.metrics = metrics
  }

  public struct Step: Sendable, Codable {
    public var name: String
    public var latencyMs: Double
    public var ok: Bool

    public init(name: String, latencyMs: Double, ok: Bool) {
      self.name = name
      self.latencyMs = latencyMs
      self.ok = ok
    }
  }
}
