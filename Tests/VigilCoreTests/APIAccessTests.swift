import Testing
import VigilCore

/// Which role may call which route, as pure logic.
@Suite("API access")
struct APIAccessTests {
  static let policy = APIAccessPolicy(routes: [
    APIRoute("GET", "/healthz", .none),
    APIRoute("GET", "/status", .read),
    APIRoute("POST", "/v1/repairs", .administer),
    APIRoute("POST", "/v1/repairs/:id/approve", .operate),
    APIRoute("POST", "/v1/clusters/:name/pause", .operate),
    APIRoute("POST", "/v1/clusters/:name/failover", .administer),
    APIRoute("GET", "/v1/clusters/:name/gate", .gate),
    APIRoute("GET", "/v1/clusters/:name/endpoints", .read),
  ])

  @Test func eachRoleAllowsWhatItShouldAndNothingMore() {
    let table: [APIRole: Set<APIRequirement>] = [
      .viewer: [.none, .read, .gate],
      .operator: [.none, .read, .gate, .operate],
      .admin: [.none, .read, .gate, .operate, .administer],
      .ci: [.none, .gate],
    ]
    for role in APIRole.allCases {
      for requirement in [APIRequirement.none, .read, .gate, .operate, .administer] {
        #expect(role.allows(requirement) == table[role]!.contains(requirement), "\(role) \(requirement)")
      }
    }
  }

  @Test func routesAreMatchedByPatternAndMethod() {
    let p = Self.policy
    #expect(p.requirement(method: "GET", path: "/healthz") == .none)
    #expect(p.requirement(method: "POST", path: "/v1/repairs/12/approve") == .operate)
    #expect(p.requirement(method: "POST", path: "/v1/clusters/etcd-a/failover") == .administer)
    #expect(p.requirement(method: "POST", path: "/v1/clusters/etcd-a/pause") == .operate)
    #expect(p.requirement(method: "GET", path: "/v1/clusters/etcd-a/gate") == .gate)
    #expect(p.requirement(method: "GET", path: "/v1/clusters/etcd-a/endpoints") == .read)
    // Another method, an unknown path or an empty parameter: reading at least.
    #expect(p.requirement(method: "GET", path: "/v1/repairs") == .read)
    #expect(p.requirement(method: "POST", path: "/nowhere") == .read)
    #expect(p.requirement(method: "GET", path: "/v1/clusters//gate") == .read)
    #expect(p.requirement(method: "GET", path: "/healthz/extra") == .read)
  }

  @Test func metricsArePublicUnlessConfiguredOtherwise() {
    #expect(Self.policy.requirement(method: "GET", path: "/metrics") == .none)
    let closed = APIAccessPolicy(routes: Self.policy.routes, publicMetrics: false)
    #expect(closed.requirement(method: "GET", path: "/metrics") == .read)
  }
}
