// Endpoints are parsed in a module of their own (the configuration reader needs them without the client).
@_exported import VigilEndpoints

extension EtcdError {
  /// An endpoint that does not parse, as a client error.
  public init(_ error: EndpointError) { self.init(.invalidArgument, error.message) }
}
