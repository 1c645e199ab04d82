/// One entry of the append-only audit log. Each entry's hash covers its
/// fields and the previous entry's hash, so changing, removing or reordering
/// any entry breaks the chain from there on (`vigil audit verify`; the chain is
/// the history store's).
public struct AuditEntry: Sendable, Hashable, Codable {
  /// Position in the log, from 1.
  public var seq: Int64
  public var at: Double
  /// "vigil" or the operator's name.
  public var actor: String
  /// What happened: `plan`, `step`, `refused`, `escalated`, `approved`, `rejected`, `paused`, `resumed`, `resumed-plan`, `abandoned`, `finished`.
  public var action: String
  public var cluster: String
  public var subject: String?
  public var incidentID: Int64?
  public var planID: Int64?
  public var runbook: String?
  public var step: String?
  /// Inputs of the action (member, URLs, revision…), as text.
  public var inputs: String
  /// Its result: `ok`, `failed: …`, `refused: …`, or what it found.
  public var result: String
  /// Why: the diagnosis, the guard's reason, the operator's words.
  public var reason: String
  public var prevHash: String
  public var hash: String

  public init(
    at: Double, actor: String, action: String, cluster: String, subject: String? = nil, incidentID: Int64? = nil,
    planID: Int64? = nil, runbook: String? = nil, step: String? = nil, inputs: String = "", result: String = "",
    reason: String = ""
  ) {
    self.seq = 0
    self.at = at
    self.actor = actor
    self.action = action
    self.cluster = cluster
    self.subject = subject
    self.incidentID = incidentID
    self.planID = planID
    self.runbook = runbook
    self.step = step
    self.inputs = inputs
    self.result = result
    self.reason = reason
    self.prevHash = ""
    self.hash = ""
  }
}
