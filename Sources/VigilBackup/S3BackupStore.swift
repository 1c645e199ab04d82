import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Where an S3 (or S3-compatible: MinIO, Ceph, OpenStack Swift's s3api) backup store is, and how to reach it.
/// The credentials are not here: they are read from the environment variables named here.
public struct S3StoreOptions: Sendable, Hashable {
  /// `http(s)://host[:port]`, no path: `http://127.0.0.1:8080`, `https://s3.eu-west-1.amazonaws.com`.
  public var endpoint: String
  public var bucket: String
  /// The keys' common prefix, as a folder: `vigil/prod` stores `k` at `vigil/prod/k`; `""` stores it at `k`.
  public var prefix: String
  /// The region the signature names.
  public var region: String
  /// `true`: `endpoint/bucket/key` (most S3-compatible servers); `false`: `bucket.host/key` (virtual-hosted).
  public var pathStyle: Bool
  /// The environment variable holding the access key id.
  public var accessKeyEnv: String
  /// The environment variable holding the secret access key.
  public var secretKeyEnv: String
  /// A file larger than this is uploaded in parts of this size (multipart upload); at least 5 MiB, S3's minimum.
  public var partSize: Int

  public init(
    endpoint: String, bucket: String, prefix: String = "", region: String = "us-east-1", pathStyle: Bool = true,
    accessKeyEnv: String = "AWS_ACCESS_KEY_ID", secretKeyEnv: String = "AWS_SECRET_ACCESS_KEY",
    partSize: Int = 8 << 20
  ) {
    self.endpoint = endpoint
    self.bucket = bucket
    self.prefix = prefix
    self.region = region
    self.pathStyle = pathStyle
    self.accessKeyEnv = accessKeyEnv
    self.secretKeyEnv = secretKeyEnv
    self.partSize = partSize
  }

  /// S3's smallest part (every part of a multipart upload but the last).
  public static let minimumPartSize = 5 << 20
}

/// A backup store in an S3 bucket, signed with AWS Signature Version 4, over AsyncHTTPClient.
///
/// Puts are atomic for readers (S3 shows an object only once it is complete); a file larger than
/// ``S3StoreOptions/partSize`` goes up as a multipart upload, aborted if any part fails. The store owns an HTTP
/// client: call ``shutdown()`` when done with it.
public struct S3BackupStore: BackupStore, CustomStringConvertible {
  public let options: S3StoreOptions
  let signer: SigV4Signer
  let http: HTTPClient
  /// `http` or `https`, the host, the port (nil: the scheme's).
  let scheme: String
  let host: String
  let port: Int?
  /// The prefix as stored: `""` or ending in `/`.
  let keyPrefix: String

  /// The largest object ``data(_:)`` reads into memory; larger ones go through ``get(_:to:)``.
  static let maxInMemoryObject = 1 << 30
  /// The most parts one multipart upload may have.
  static let maxParts = 10_000

  /// - Parameters:
  ///   - options: where the bucket is.
  ///   - environment: where the credentials are read, under ``S3StoreOptions/accessKeyEnv`` and
  ///     ``S3StoreOptions/secretKeyEnv``.
  /// - Throws: when a credential variable is unset or empty (the message names it), the endpoint is not
  ///   `http(s)://host[:port]`, the bucket is empty, or the part size is under 5 MiB.
  public init(
    options: S3StoreOptions, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(BackupStoreError) {
    let name = Self.describe(options)
    guard let url = URLComponents(string: options.endpoint), let scheme = url.scheme?.lowercased(),
      scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty, url.path.isEmpty || url.path == "/",
      url.query == nil
    else {
      throw BackupStoreError("\(name): endpoint \"\(options.endpoint)\" is not a URL (expected http(s)://host[:port])")
    }
    guard !options.bucket.isEmpty, !options.bucket.contains("/") else {
      throw BackupStoreError("\(name): bucket \"\(options.bucket)\" is not a bucket name")
    }
    guard options.partSize >= S3StoreOptions.minimumPartSize else {
      let minimum = S3StoreOptions.minimumPartSize
      throw BackupStoreError("\(name): part size \(options.partSize) is under S3's minimum of \(minimum) bytes (5 MiB)")
    }
    guard let accessKey = environment[options.accessKeyEnv], !accessKey.isEmpty else {
      throw BackupStoreError("\(name): the access key is not set: set the environment variable \(options.accessKeyEnv)")
    }
    guard let secretKey = environment[options.secretKeyEnv], !secretKey.isEmpty else {
      throw BackupStoreError("\(name): the secret key is not set: set the environment variable \(options.secretKeyEnv)")
    }
    self.options = options
    self.scheme = scheme
    self.host = host.contains(":") ? "[\(host)]" : host  // an IPv6 address, bracketed as in a URL
    self.port = url.port
    let trimmed = options.prefix.split(separator: "/").joined(separator: "/")
    self.keyPrefix = trimmed.isEmpty ? "" : trimmed + "/"
    self.signer = SigV4Signer(accessKey: accessKey, secretKey: secretKey, region: options.region)
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    configuration.timeout.connect = .seconds(10)
    configuration.timeout.read = .seconds(120)
    configuration.connectionPool.retryConnectionEstablishment = false
    self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }

  /// Closes the store's HTTP client; the store cannot be used afterwards.
  public func shutdown() async {
    try? await http.shutdown()
  }

  /// `s3 http://host:port/bucket/prefix`
  public var description: String { Self.describe(options) }

  static func describe(_ options: S3StoreOptions) -> String {
    let endpoint = options.endpoint.hasSuffix("/") ? String(options.endpoint.dropLast()) : options.endpoint
    let prefix = options.prefix.split(separator: "/").joined(separator: "/")
    return "s3 \(endpoint)/\(options.bucket)" + (prefix.isEmpty ? "" : "/\(prefix)")
  }

  // MARK: the bucket

  /// Creates the bucket unless it exists (and is the caller's).
  /// - Throws: when the bucket cannot be checked or created (denied, owned by someone else, unreachable).
  public func prepare() async throws(BackupStoreError) { try await ensureBucket() }

  public func ensureBucket() async throws(BackupStoreError) {
    let head = try await send(.HEAD, key: nil, what: "check the bucket")
    if (200..<300).contains(head.status) { return }
    guard head.status == 404 else { throw failure("check the bucket", key: nil, head) }
    var body = Data()
    if options.region != "us-east-1" {
      body = Data(
        """
        <CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\
        <LocationConstraint>\(Self.xmlEscape(options.region))</LocationConstraint></CreateBucketConfiguration>
        """.utf8)
    }
    let created = try await send(.PUT, key: nil, body: body, what: "create the bucket")
    if (200..<300).contains(created.status) || created.errorCode == "BucketAlreadyOwnedByYou" { return }
    throw failure("create the bucket", key: nil, created)
  }

  // MARK: BackupStore

  public func put(_ key: String, data: Data) async throws(BackupStoreError) {
    let response = try await send(.PUT, key: key, body: data, what: "put", timeout: .minutes(10))
    guard (200..<300).contains(response.status) else { throw failure("put", key: key, response) }
  }

  public func put(_ key: String, file: String) async throws(BackupStoreError) {
    let size: Int
    do {
      let attributes = try FileManager.default.attributesOfItem(atPath: file)
      size = (attributes[.size] as? NSNumber)?.intValue ?? 0
    } catch {
      throw BackupStoreError("\(description): cannot read \"\(file)\" to put \(key): \(error.localizedDescription)")
    }
    if size <= options.partSize {
      guard let data = FileManager.default.contents(atPath: file) else {
        throw BackupStoreError("\(description): cannot read \"\(file)\" to put \(key)")
      }
      try await put(key, data: data)
    } else {
      try await putMultipart(key, file: file, size: size)
    }
  }

  public func get(_ key: String, to file: String) async throws(BackupStoreError) {
    let partial = file + ".part"
    guard FileManager.default.createFile(atPath: partial, contents: nil),
      let handle = FileHandle(forWritingAtPath: partial)
    else {
      throw BackupStoreError("\(description): cannot create \"\(partial)\" to get \(key)")
    }
    do throws(BackupStoreError) {
      try await stream(key, into: handle)
      do {
        try handle.synchronize()
        try handle.close()
      } catch {
        throw BackupStoreError("\(description): cannot write \(key) to \"\(partial)\": \(error.localizedDescription)")
      }
    } catch {
      try? handle.close()
      try? FileManager.default.removeItem(atPath: partial)
      throw error
    }
    do {
      if FileManager.default.fileExists(atPath: file) { try FileManager.default.removeItem(atPath: file) }
      try FileManager.default.moveItem(atPath: partial, toPath: file)
    } catch {
      try? FileManager.default.removeItem(atPath: partial)
      throw BackupStoreError("\(description): cannot write \(key) to \"\(file)\": \(error.localizedDescription)")
    }
  }

  public func data(_ key: String) async throws(BackupStoreError) -> Data {
    let response = try await send(.GET, key: key, what: "get", timeout: .minutes(10), maxBody: Self.maxInMemoryObject)
    guard (200..<300).contains(response.status) else { throw failure("get", key: key, response) }
    return response.body
  }

  public func list(prefix: String) async throws(BackupStoreError) -> [BackupObject] {
    try await list(prefix: prefix, pageSize: 1000)
  }

  /// ``list(prefix:)`` in pages of `pageSize` keys (ListObjectsV2's `max-keys`), following continuation tokens.
  func list(prefix: String, pageSize: Int) async throws(BackupStoreError) -> [BackupObject] {
    var objects: [BackupObject] = []
    var token: String?
    repeat {
      var query: [(name: String, value: String)] = [
        ("list-type", "2"), ("prefix", keyPrefix + prefix), ("max-keys", String(pageSize)),
      ]
      if let token { query.append(("continuation-token", token)) }
      let response = try await send(.GET, key: nil, query: query, what: "list \"\(prefix)\"")
      guard (200..<300).contains(response.status) else { throw failure("list \"\(prefix)\"", key: nil, response) }
      guard let root = S3XML.parse(response.body), root.name == "ListBucketResult" else {
        throw BackupStoreError("\(description): list \"\(prefix)\": the answer is not a ListBucketResult")
      }
      for entry in root.children where entry.name == "Contents" {
        guard let full = entry.child("Key")?.text, full.hasPrefix(keyPrefix) else { continue }
        let size = Int64(entry.child("Size")?.text ?? "") ?? 0
        objects.append(BackupObject(key: String(full.dropFirst(keyPrefix.count)), size: size))
      }
      token = root.child("IsTruncated")?.text == "true" ? root.child("NextContinuationToken")?.text : nil
    } while token != nil
    return objects.sorted { $0.key < $1.key }
  }

  public func delete(_ key: String) async throws(BackupStoreError) {
    let response = try await send(.DELETE, key: key, what: "delete")
    if (200..<300).contains(response.status) { return }
    // S3 answers 204 for a missing key; a server that says 404 NoSuchKey means the same.
    if response.status == 404, response.errorCode == nil || response.errorCode == "NoSuchKey" { return }
    throw failure("delete", key: key, response)
  }

  // MARK: multipart upload

  /// CreateMultipartUpload, UploadPart for each ``S3StoreOptions/partSize`` slice of the file,
  /// CompleteMultipartUpload; on any failure, AbortMultipartUpload (so no parts are left to pay for) and the first
  /// error is thrown.
  func putMultipart(_ key: String, file: String, size: Int) async throws(BackupStoreError) {
    let created = try await send(.POST, key: key, query: [("uploads", "")], what: "start the upload of")
    guard (200..<300).contains(created.status) else { throw failure("start the upload of", key: key, created) }
    guard let uploadID = S3XML.parse(created.body)?.child("UploadId")?.text, !uploadID.isEmpty else {
      throw BackupStoreError("\(description): start the upload of \(key): the answer has no UploadId")
    }
    do throws(BackupStoreError) {
      let parts = try await uploadParts(key, file: file, size: size, uploadID: uploadID)
      let list = parts.map {
        "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.xmlEscape($0.etag))</ETag></Part>"
      }
      let body = Data(("<CompleteMultipartUpload>" + list.joined() + "</CompleteMultipartUpload>").utf8)
      let completed = try await send(
        .POST, key: key, query: [("uploadId", uploadID)], body: body, what: "complete the upload of",
        timeout: .minutes(10))
      // S3 may answer 200 and still report an error in the body (it fails after sending the status).
      guard (200..<300).contains(completed.status), completed.errorCode == nil else {
        throw failure("complete the upload of", key: key, completed)
      }
    } catch {
      _ = try? await send(.DELETE, key: key, query: [("uploadId", uploadID)], what: "abort the upload of")
      throw error
    }
  }

  func uploadParts(
    _ key: String, file: String, size: Int, uploadID: String
  ) async throws(BackupStoreError) -> [(number: Int, etag: String)] {
    guard let handle = FileHandle(forReadingAtPath: file) else {
      throw BackupStoreError("\(description): cannot open \"\(file)\" to put \(key)")
    }
    defer { try? handle.close() }
    // S3 takes at most 10,000 parts: a file too big for that many parts of partSize gets bigger parts.
    let partSize = max(options.partSize, (size + Self.maxParts - 1) / Self.maxParts)
    var parts: [(number: Int, etag: String)] = []
    var offset = 0
    while offset < size {
      let number = parts.count + 1
      let chunk: Data
      do { chunk = try handle.read(upToCount: partSize) ?? Data() } catch {
        throw BackupStoreError("\(description): cannot read \"\(file)\" to put \(key): \(error.localizedDescription)")
      }
      guard !chunk.isEmpty else {
        throw BackupStoreError("\(description): \"\(file)\" ended at \(offset) bytes of \(size) while putting \(key)")
      }
      let what = "upload part \(number) of"
      let response = try await send(
        .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], body: chunk, what: what,
        timeout: .minutes(10))
      guard (200..<300).contains(response.status) else { throw failure(what, key: key, response) }
      guard let etag = response.headers.first(name: "etag") else {
        throw BackupStoreError("\(description): \(what) \(key): the answer has no ETag")
      }
      parts.append((number, etag))
      offset += chunk.count
    }
    return parts
  }

  // MARK: the wire

  /// One answer: the status, the headers, the body (when collected) and S3's error code and message from it.
  struct Response: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data
    var errorCode: String?
    var errorMessage: String?
  }

  /// The URL path of `key` (nil: the bucket), unencoded.
  func path(_ key: String?) -> String {
    let object = key.map { keyPrefix + $0 }
    if options.pathStyle { return "/\(options.bucket)" + (object.map { "/" + $0 } ?? "") }
    return "/" + (object ?? "")
  }

  /// A signed request for `key` (nil: the bucket).
  func request(
    _ method: HTTPMethod, key: String?, query: [(name: String, value: String)], body: Data
  ) -> HTTPClientRequest {
    let hostName = options.pathStyle ? host : "\(options.bucket).\(host)"
    let authority = port.map { "\(hostName):\($0)" } ?? hostName
    let path = path(key)
    let payloadHash = SigV4Signer.sha256Hex(body)
    let signature = signer.sign(
      method: method.rawValue, path: path, query: query, headers: [("host", authority)], payloadSHA256: payloadHash,
      date: Date())
    let queryString = SigV4Signer.canonicalQuery(query)
    let url = "\(scheme)://\(authority)\(SigV4Signer.canonicalPath(path))"
    var request = HTTPClientRequest(url: queryString.isEmpty ? url : url + "?" + queryString)
    request.method = method
    request.headers.add(name: "Host", value: authority)
    for (name, value) in signature.headers { request.headers.add(name: name, value: value) }
    // AsyncHTTPClient sets Content-Length (0 for a bodiless PUT or POST).
    if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
    return request
  }

  /// Sends a request and collects the answer (up to `maxBody` bytes).
  func send(
    _ method: HTTPMethod, key: String?, query: [(name: String, value: String)] = [], body: Data = Data(),
    what: String, timeout: TimeAmount = .seconds(60), maxBody: Int = 16 << 20
  ) async throws(BackupStoreError) -> Response {
    let request = request(method, key: key, query: query, body: body)
    let status: Int
    let headers: HTTPHeaders
    let bytes: ByteBuffer
    do {
      let response = try await http.execute(request, timeout: timeout)
      status = Int(response.status.code)
      headers = response.headers
      bytes = try await response.body.collect(upTo: maxBody)
    } catch {
      throw unreachable(what, key: key, error)
    }
    let data = Data(bytes.readableBytesView)
    var answer = Response(status: status, headers: headers, body: data)
    if let root = S3XML.parse(data), root.name == "Error" {
      answer.errorCode = root.child("Code")?.text
      answer.errorMessage = root.child("Message")?.text
    }
    return answer
  }

  /// GETs `key` and writes its body to `handle` as it arrives.
  func stream(_ key: String, into handle: FileHandle) async throws(BackupStoreError) {
    let request = request(.GET, key: key, query: [], body: Data())
    do {
      let response = try await http.execute(request, timeout: .minutes(30))
      let status = Int(response.status.code)
      guard (200..<300).contains(status) else {
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let data = Data(bytes.readableBytesView)
        let root = S3XML.parse(data).flatMap { $0.name == "Error" ? $0 : nil }
        throw failure(
          "get", key: key,
          Response(
            status: status, headers: response.headers, body: data, errorCode: root?.child("Code")?.text,
            errorMessage: root?.child("Message")?.text))
      }
      for try await buffer in response.body {
        try buffer.withUnsafeReadableBytes { try handle.write(contentsOf: $0) }
      }
    } catch let error as BackupStoreError {
      throw error
    } catch {
      throw unreachable("get", key: key, error)
    }
  }

  /// The error for an answer that was not a success: the store, what was asked, the status and S3's own words.
  func failure(_ what: String, key: String?, _ response: Response) -> BackupStoreError {
    let target = key.map { "\(what) \($0)" } ?? what
    var message = "\(description): \(target): HTTP \(response.status)"
    if let code = response.errorCode { message += " \(code)" }
    if let said = response.errorMessage, !said.isEmpty { message += ": \(said)" }
    // A missing bucket is a misconfiguration, not a missing key: it must not read as "no such backup".
    let notFound = response.errorCode == "NoSuchKey" || (response.status == 404 && response.errorCode != "NoSuchBucket")
    return BackupStoreError(message, notFound: notFound)
  }

  func unreachable(_ what: String, key: String?, _ error: any Error) -> BackupStoreError {
    let target = key.map { "\(what) \($0)" } ?? what
    let text = String(describing: error)
    let reason: String
    if text.contains("refused") {
      reason = "connection refused"
    } else if text.localizedCaseInsensitiveContains("timeout") || text.contains("timed out")
      || text.contains("deadline")
    {
      reason = "timed out"
    } else {
      reason = text
    }
    return BackupStoreError("\(description): \(target): the server did not answer: \(reason)")
  }

  static func xmlEscape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}

extension TimeAmount {
  fileprivate static func minutes(_ n: Int64) -> TimeAmount { .seconds(n * 60) }
}

// MARK: XML

/// The little of XML that S3's answers need: a tree of elements with their text, namespaces ignored.
struct S3XML: Sendable {
  var name: String
  var text: String
  var children: [S3XML]

  /// The first child element named `name`.
  func child(_ name: String) -> S3XML? { children.first { $0.name == name } }

  /// The document's root element, or nil when `data` is not XML (an empty body, an HTML error page).
  static func parse(_ data: Data) -> S3XML? {
    guard data.first(where: { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }) == UInt8(ascii: "<") else {
      return nil
    }
    let builder = Builder()
    let parser = XMLParser(data: data)
    parser.delegate = builder
    guard parser.parse() else { return nil }
    return builder.root
  }

  private final class Builder: NSObject, XMLParserDelegate {
    var stack: [S3XML] = []
    var root: S3XML?

    func parser(
      _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
      attributes: [String: String] = [:]
    ) {
      stack.append(S3XML(name: elementName, text: "", children: []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      guard !stack.isEmpty else { return }
      stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
      guard let done = stack.popLast() else { return }
      if stack.isEmpty { root = done } else { stack[stack.count - 1].children.append(done) }
    }
  }
}
