/// Who may call the API: a bearer token's role.
public enum APIRole: String, Sendable, Hashable, Codable, CaseIterable {
  /// Reads everything.
  case viewer
  /// Reads; runs probes, inspections and drills; approves and rejects plans; pauses and resumes repair.
  case `operator`
  /// Everything: repairs by hand, failover and failback, tokens.
  case admin
  /// The release gate only (a pipeline's token).
  case ci

  /// Whether a token of this role may do what a route requires.
  public func allows(_ requirement: APIRequirement) -> Bool {
    switch (self, requirement) {
    case (_, .none): true
    case (.ci, .gate): true
    case (.ci, _): false
    case (.viewer, .read), (.viewer, .gate): true
    case (.viewer, _): false
    case (.operator, .read), (.operator, .gate), (.operator, .operate): true
    case (.operator, .administer): false
    case (.admin, _): true
    }
  }
}

/// What a route requires of its caller.
public enum APIRequirement: String, Sendable, Hashable, Codable {
  /// Public: liveness, readiness (and the metrics unless configured otherwise).
  case none
  /// Reading state.
  case read
  /// The release gate's answer.
  case gate
  /// Acting within Vigil's own policy: probes, inspections, decisions on plans, pause and resume.
  case operate
  /// Changing the clusters by hand, switching sites, managing tokens.
  case administer
}

/// One route of the API: its method, its path pattern (`:name` for a parameter) and what it requires.
public struct APIRoute: Sendable, Hashable, Codable {
  public var method: String
  public var path: String
  public var requirement: APIRequirement

  public init(_ method: String, _ path: String, _ requirement: APIRequirement) {
    self.method = method
    self.path = path
    self.requirement = requirement
  }

  /// Whether `path` (without its query) is this route's pattern filled in.
  public func matches(method: String, path: String) -> Bool {
    guard method == self.method else { return false }
    let want = self.path.split(separator: "/", omittingEmptySubsequences: false)
    let got = path.split(separator: "/", omittingEmptySubsequences: false)
    guard want.count == got.count else { return false }
    return zip(want, got).allSatisfy { w, g in w.hasPrefix(":") ? !g.isEmpty : w == g }
  }
}

/// Which route a request is and what it requires (pure, so every route's rule can be checked without a server).
public struct APIAccessPolicy: Sendable {
  public var routes: [APIRoute]
  public var publicMetrics: Bool

  public init(routes: [APIRoute], publicMetrics: Bool = true) {
    self.routes = routes
    self.publicMetrics = publicMetrics
  }

  /// What a request requires. A path no route matches needs `read` (an unknown path tells nothing to a
  /// caller without a token; with one it is a 404).
  public func requirement(method: String, path: String) -> APIRequirement {
    if path == "/metrics", method == "GET" { return publicMetrics ? .none : .read }
    // The most specific route first: a literal segment beats a parameter.
    let matching = routes.filter { $0.matches(method: method, path: path) }
    let best = matching.max { a, b in a.path.filter { $0 == ":" }.count > b.path.filter { $0 == ":" }.count }
    return best?.requirement ?? .read
  }
}
