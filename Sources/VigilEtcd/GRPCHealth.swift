import NIOCore
import SwiftProtobuf

/// The standard gRPC health service (`grpc.health.v1.Health/Check`), which
/// etcd serves on its client port and so do many gRPC components.
///
/// Its two messages have one field each — `HealthCheckRequest { string
/// service = 1; }` and `HealthCheckResponse { ServingStatus status = 1; }` — so
/// on the wire they are exactly protobuf's `StringValue` and `Int32Value`
/// wrappers (an enum is a varint), which carry them here without generated code.
public struct GRPCHealth: Sendable {
  let client: EtcdClient

  /// `grpc.health.v1.HealthCheckResponse.ServingStatus`.
  public enum ServingStatus: Sendable, Hashable, CustomStringConvertible {
    case unknown, serving, notServing, serviceUnknown
    case other(Int32)

    init(_ raw: Int32) {
      switch raw {
      case 0: self = .unknown
      case 1: self = .serving
      case 2: self = .notServing
      case 3: self = .serviceUnknown
      default: self = .other(raw)
      }
    }

    public var description: String {
      switch self {
      case .unknown: "UNKNOWN"
      case .serving: "SERVING"
      case .notServing: "NOT_SERVING"
      case .serviceUnknown: "SERVICE_UNKNOWN"
      case .other(let v): "status \(v)"
      }
    }
  }

  /// Asks for the health of `service` ("" is the whole server).
  public func check(service: String = "") async throws(EtcdError) -> ServingStatus {
    let request = Google_Protobuf_StringValue.with { $0.value = service }
    let response: Google_Protobuf_Int32Value = try await client.unary(
      "/grpc.health.v1.Health/Check", request, idempotent: true)
    return ServingStatus(response.value)
  }
}

extension EtcdClient {
  /// The gRPC health service of the endpoint in use.
  public var health: GRPCHealth { GRPCHealth(client: self) }
}
