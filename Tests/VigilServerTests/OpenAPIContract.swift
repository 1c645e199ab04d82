import Foundation
import VigilCore
import VigilServer

/// Vigil's OpenAPI document read by the tests: which operations it has, and whether an answer matches what
/// it promises for that operation and status — the status documented, the media type, and the body against
/// its JSON Schema (the keywords the document uses: `$ref`, `type` (one or several), `properties`,
/// `required`, `items`, `additionalProperties`, `enum`, `const`, `oneOf`, `anyOf`, `allOf`, `minimum`,
/// `maximum`).
struct OpenAPIContract {
  struct Operation {
    var method: String
    /// The document's path template, `{name}` for a path parameter.
    var path: String
    /// `x-vigil-requirement`: `none`, `read`, `gate`, `operate` or `administer`.
    var requirement: String?
    var body: JSONValue
  }

  let document: JSONValue

  init(json: Data = HTTPAPI.openAPIJSON) throws { document = try JSONValue.parse(json) }

  var operations: [Operation] {
    var out: [Operation] = []
    for (path, item) in document["paths"]?.object ?? [:] {
      for (method, op) in item.object ?? [:] where ["get", "post", "put", "patch", "delete"].contains(method) {
        out.append(Operation(method: method.uppercased(), path: path, requirement: op["x-vigil-requirement"]?.string, body: op))
      }
    }
    return out.sorted { ($0.path, $0.method) < ($1.path, $1.method) }
  }

  /// The operation a concrete request is (its path without the query).
  func operation(method: String, path: String) -> Operation? {
    let parts = path.split(separator: "?")[0].split(separator: "/", omittingEmptySubsequences: false)
    return operations.first { op in
      let template = op.path.split(separator: "/", omittingEmptySubsequences: false)
      return op.method == method && template.count == parts.count
        && zip(template, parts).allSatisfy { t, p in (t.hasPrefix("{") && t.hasSuffix("}") && !p.isEmpty) || t == p }
    }
  }

  /// What is wrong with an answer, by the document (empty: it conforms).
  func problems(method: String, path: String, status: Int, contentType: String?, body: Data) -> [String] {
    let subject = "\(method) \(path) → \(status)"
    guard let op = operation(method: method, path: path) else { return ["\(subject): no such operation in the document"] }
    guard let responses = op.body["responses"]?.object,
      let declared = responses[String(status)] ?? responses["\(status / 100)XX"] ?? responses["default"]
    else { return ["\(subject): status \(status) is not documented"] }
    let response = resolve(declared)
    guard let content = response["content"]?.object, !content.isEmpty else { return [] }
    let type = (contentType ?? "").split(separator: ";")[0].trimmingCharacters(in: .whitespaces)
    guard let media = content[type] else {
      return ["\(subject): content type \"\(type)\" is not documented (documented: \(content.keys.sorted()))"]
    }
    guard type == "application/json", let schema = media["schema"] else { return [] }
    let value: JSONValue
    do { value = try JSONValue.parse(body) } catch {
      return ["\(subject): the body is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))"]
    }
    return validate(value, against: schema, at: "").map { "\(subject): \($0)" }
  }

  /// Follows `$ref`s within the document.
  func resolve(_ node: JSONValue) -> JSONValue {
    var node = node
    var hops = 0
    while let ref = node["$ref"]?.string, ref.hasPrefix("#/"), hops < 20 {
      var target: JSONValue? = document
      for key in ref.dropFirst(2).split(separator: "/") { target = target?[String(key)] }
      guard let found = target else { return node }
      node = found
      hops += 1
    }
    return node
  }

  /// A value against a schema: every violation, with the JSON pointer of where it is.
  func validate(_ value: JSONValue, against raw: JSONValue, at pointer: String) -> [String] {
    let schema = resolve(raw)
    if case .bool(let allowed) = schema { return allowed ? [] : ["\(pointer): nothing is allowed here"] }
    var out: [String] = []
    let here = pointer.isEmpty ? "/" : pointer
    if let types = schema["type"] {
      let names = types.array?.compactMap(\.string) ?? [types.string].compactMap { $0 }
      if !names.contains(where: { Self.value(value, isA: $0) }) {
        return ["\(here): \(value) is not \(names.joined(separator: " or "))"]
      }
    }
    if let options = schema["enum"]?.array, !options.contains(value) {
      out.append("\(here): \(value) is not one of \(options)")
    }
    if let constant = schema["const"], constant != value { out.append("\(here): \(value) is not \(constant)") }
    if case .number(let n) = value {
      if case .number(let min)? = schema["minimum"], n < min { out.append("\(here): \(n) is below \(min)") }
      if case .number(let max)? = schema["maximum"], n > max { out.append("\(here): \(n) is above \(max)") }
    }
    if case .object(let object) = value {
      let properties = schema["properties"]?.object ?? [:]
      for name in schema["required"]?.array?.compactMap(\.string) ?? [] where object[name] == nil {
        out.append("\(here): required property \"\(name)\" is missing")
      }
      for (name, v) in object {
        if let p = properties[name] {
          out += validate(v, against: p, at: pointer + "/" + name)
        } else if let extra = schema["additionalProperties"] {
          out += validate(v, against: extra, at: pointer + "/" + name)
        }
      }
    }
    if case .array(let items) = value, let itemSchema = schema["items"] {
      for (i, item) in items.enumerated() { out += validate(item, against: itemSchema, at: "\(pointer)/\(i)") }
    }
    for sub in schema["allOf"]?.array ?? [] { out += validate(value, against: sub, at: pointer) }
    if let any = schema["anyOf"]?.array, !any.contains(where: { validate(value, against: $0, at: pointer).isEmpty }) {
      out.append("\(here): \(value) matches none of anyOf")
    }
    if let one = schema["oneOf"]?.array {
      let matching = one.filter { validate(value, against: $0, at: pointer).isEmpty }.count
      if matching != 1 { out.append("\(here): \(value) matches \(matching) of oneOf, not 1") }
    }
    return out
  }

  static func value(_ value: JSONValue, isA type: String) -> Bool {
    switch (type, value) {
    case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array),
      ("object", .object):
      true
    case ("integer", .number(let n)): n.rounded() == n
    default: false
    }
  }
}
