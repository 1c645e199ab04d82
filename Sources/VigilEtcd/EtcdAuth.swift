import VigilEtcdProto

/// Auth administration (enough to set up and test authentication).
public struct EtcdAuth: Sendable {
  let client: EtcdClient

  public func addUser(_ name: String, password: String) async throws(EtcdError) {
    let request = Etcdserverpb_AuthUserAddRequest.with {
      $0.name = name
      $0.password = password
    }
    let _: Etcdserverpb_AuthUserAddResponse = try await client.unary(EtcdPaths.userAdd, request, idempotent: false)
  }

  public func grantRole(user: String, role: String) async throws(EtcdError) {
    let request = Etcdserverpb_AuthUserGrantRoleRequest.with {
      $0.user = user
      $0.role = role
    }
    let _: Etcdserverpb_AuthUserGrantRoleResponse = try await client.unary(
      EtcdPaths.userGrantRole, request, idempotent: false)
  }

  /// Turns authentication on (a `root` user with the `root` role must exist).
  public func enable() async throws(EtcdError) {
    let _: Etcdserverpb_AuthEnableResponse = try await client.unary(
      EtcdPaths.authEnable, Etcdserverpb_AuthEnableRequest(), idempotent: true)
  }

  public func disable() async throws(EtcdError) {
    let _: Etcdserverpb_AuthDisableResponse = try await client.unary(
      EtcdPaths.authDisable, Etcdserverpb_AuthDisableRequest(), idempotent: true)
  }
}
