import NIOCore

/// Files for a TLS connection to etcd.
public struct EtcdTLSConfiguration: Sendable, Hashable {
  /// PEM file with the CA that signed etcd's server certificates.
  public var caFile: String
  /// PEM client certificate and key, when etcd asks for client certificates.
  public var certificateFile: String?
  public var keyFile: String?

  public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil) {
    self.caFile = caFile
    self.certificateFile = certificateFile
    self.keyFile = keyFile
  }
}

/// A user name and password for etcd's auth; the token is refreshed as needed.
public struct EtcdCredentials: Sendable, Hashable {
  public var username: String
  public var password: String
  public init(username: String, password: String) {
    self.username = username
    self.password = password
  }
}

/// Everything an ``EtcdClient`` needs.
public struct EtcdClientConfiguration: Sendable {
  /// Members to talk to, in order of preference; calls fail over along this list.
  public var endpoints: [EtcdEndpoint]
  public var tls: EtcdTLSConfiguration?
  public var credentials: EtcdCredentials?
  /// Deadline for one unary call, across every endpoint it is tried on.
  public var callTimeout: TimeAmount = .seconds(5)
  public var connection = EtcdConnectionSettings()

  public init(
    endpoints: [EtcdEndpoint], tls: EtcdTLSConfiguration? = nil, credentials: EtcdCredentials? = nil,
    callTimeout: TimeAmount = .seconds(5)
  ) {
    self.endpoints = endpoints
    self.tls = tls
    self.credentials = credentials
    self.callTimeout = callTimeout
  }
}
