import Foundation

/// Which side of a primary/standby pair serves clients, as the last failover left it.
public struct ActiveSide: Sendable, Hashable, Codable {
  /// The pair's name: the configured primary's.
  public var cluster: String
  /// The cluster that serves clients now.
  public var active: String
  /// The side a failover fenced (its members stopped); it comes back as the standby.
  public var fenced: String?
  public var changedAt: Double
  public var changedBy: String
  public var planID: Int64?

  public init(cluster: String, active: String, fenced: String?, changedAt: Double, changedBy: String, planID: Int64?) {
    self.cluster = cluster
    self.active = active
    self.fenced = fenced
    self.changedAt = changedAt
    self.changedBy = changedBy
    self.planID = planID
  }
}
