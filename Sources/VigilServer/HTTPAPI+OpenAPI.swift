import Foundation
import Hummingbird
import Yams

extension HTTPAPI {
  /// The OpenAPI document as YAML (`GET /openapi.yaml`).
  public static var openAPIYAML: String { OpenAPIDocument.yaml }

  /// The OpenAPI document as JSON (`GET /openapi.json`), converted once from the YAML, keys in the
  /// document's order.
  public static let openAPIJSON: Data = {
    do {
      guard let node = try Yams.compose(yaml: OpenAPIDocument.yaml) else { return Data("{}".utf8) }
      return Data(try YAMLJSON.json(node).utf8)
    } catch {
      // The document is a constant checked by the tests: reaching here is a programming error, named.
      return Data("{\"error\": \"the OpenAPI document does not parse: \(error)\"}".utf8)
    }
  }()

  static func addOpenAPIRoutes(to router: Router<VigilRequestContext>) {
    router.get("/openapi.json") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: openAPIJSON)))
    }
    router.get("/openapi.yaml") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: openAPIYAML)))
    }
  }
}

/// YAML to JSON text: mappings keep their order, scalars take the type their YAML tag resolves to.
enum YAMLJSON {
  struct Unsupported: Error, CustomStringConvertible {
    var description: String
  }

  static func json(_ node: Node) throws -> String {
    switch node {
    case .mapping(let mapping):
      let pairs = try mapping.map { key, value -> String in
        guard let name = key.string else { throw Unsupported(description: "a mapping key that is not a scalar at \(key.mark.map { "\($0)" } ?? "?")") }
        return try quoted(name) + ":" + json(value)
      }
      return "{" + pairs.joined(separator: ",") + "}"
    case .sequence(let sequence):
      return "[" + (try sequence.map(json).joined(separator: ",")) + "]"
    case .scalar(let scalar):
      switch Tag.Name(rawValue: node.tag.rawValue) {
      case .null: return "null"
      case .bool: if let b = node.bool { return b ? "true" : "false" }
      case .int: if let i = node.int { return String(i) }
      case .float: if let f = node.float, f.isFinite { return "\(f)" }
      default: break
      }
      return try quoted(scalar.string)
    case .alias:
      throw Unsupported(description: "YAML aliases are not used in the document")
    }
  }

  static func quoted(_ s: String) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    return String(decoding: try encoder.encode(s), as: UTF8.self)
  }
}
