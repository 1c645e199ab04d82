import Foundation
import VigilCore
import Testing
import VigilTestKit

@testable import VigilBackup

@Suite struct S3BackupStoreTests {
  // MARK: the signer, against AWS's published examples (S3 API reference, "Signature Calculations for the
  // Authorization Header": GET Object and GET Bucket (List Objects)).

  static let exampleSigner = SigV4Signer(
    accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
  /// 2013-05-24T00:00:00Z
  static let exampleDate = Date(timeIntervalSince1970: 1_369_353_600)

  @Test func signsAWSGetObjectExample() {
    let signature = Self.exampleSigner.sign(
      method: "GET", path: "/test.txt",
      headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
      payloadSHA256: SigV4Signer.emptyPayloadSHA256, date: Self.exampleDate)
    #expect(signature.amzDate == "20130524T000000Z")
    #expect(
      signature.authorization
        == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
  }

  @Test func signsAWSListObjectsExampleWithQuery() {
    let signature = Self.exampleSigner.sign(
      method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
      headers: [("Host", "examplebucket.s3.amazonaws.com")], payloadSHA256: SigV4Signer.emptyPayloadSHA256,
      date: Self.exampleDate)
    #expect(
      signature.authorization.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
  }

  @Test func canonicalRequestOfTheGetObjectExample() {
    let (request, signed) = SigV4Signer.canonicalRequest(
      method: "GET", path: "/test.txt", query: [],
      headers: [
        ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
        ("x-amz-content-sha256", SigV4Signer.emptyPayloadSHA256), ("x-amz-date", "20130524T000000Z"),
      ], payloadSHA256: SigV4Signer.emptyPayloadSHA256)
    #expect(signed == "host;range;x-amz-content-sha256;x-amz-date")
    #expect(
      SigV4Signer.sha256Hex(Data(request.utf8)) == "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
  }

  @Test(arguments: [
    ("/bucket/a b/c.txt", "/bucket/a%20b/c.txt"),
    ("/b/snapshots/main/2024-01-01T00:00:00Z.db", "/b/snapshots/main/2024-01-01T00%3A00%3A00Z.db"),
    ("/b/ü~_-.+", "/b/%C3%BC~_-.%2B"),
    ("/b/x//y", "/b/x//y"),
  ])
  func encodesEachPathSegment(raw: String, encoded: String) {
    #expect(SigV4Signer.canonicalPath(raw) == encoded)
  }

  @Test func sortsAndEncodesTheQuery() {
    #expect(
      SigV4Signer.canonicalQuery([("prefix", "a/b c"), ("list-type", "2"), ("uploads", "")])
        == "list-type=2&prefix=a%2Fb%20c&uploads=")
  }

  @Test func theSignerNeverShowsItsSecret() {
    let text = "\(Self.exampleSigner) \(String(reflecting: Self.exampleSigner))"
    #expect(!text.contains("wJalrXUtnFEMI"))
  }

  // MARK: options and credentials

  @Test func missingCredentialVariableIsNamed() {
    let options = S3StoreOptions(endpoint: "http://127.0.0.1:1", bucket: "b", accessKeyEnv: "VIGIL_TEST_S3_KEY")
    #expect {
      _ = try S3BackupStore(options: options, environment: ["AWS_SECRET_ACCESS_KEY": "s"])
    } throws: { error in
      "\(error)".contains("VIGIL_TEST_S3_KEY")
    }
    #expect {
      _ = try S3BackupStore(options: options, environment: ["VIGIL_TEST_S3_KEY": "k"])
    } throws: { error in
      "\(error)".contains("AWS_SECRET_ACCESS_KEY")
    }
  }

  @Test func badEndpointAndPartSizeAreRefused() {
    let environment = ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"]
    #expect(throws: BackupStoreError.self) {
      _ = try S3BackupStore(options: .init(endpoint: "127.0.0.1:8080", bucket: "b"), environment: environment)
    }
    #expect(throws: BackupStoreError.self) {
      _ = try S3BackupStore(
        options: .init(endpoint: "http://127.0.0.1:8080", bucket: "b", partSize: 1 << 20), environment: environment)
    }
  }

  @Test func buildsPathStyleAndVirtualHostedRequests() async throws {
    let environment = ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"]
    for (pathStyle, url, host) in [
      (true, "http://127.0.0.1:9000/b/vigil/prod/snapshots/a%20b.db", "127.0.0.1:9000"),
      (false, "http://b.s3.example:9000/vigil/prod/snapshots/a%20b.db", "b.s3.example:9000"),
    ] {
      let endpoint = pathStyle ? "http://127.0.0.1:9000/" : "http://s3.example:9000"
      let store = try S3BackupStore(
        options: .init(endpoint: endpoint, bucket: "b", prefix: "/vigil/prod/", pathStyle: pathStyle),
        environment: environment)
      let request = store.request(.GET, key: "snapshots/a b.db", query: [], body: Data())
      #expect(request.url == url)
      #expect(request.headers.first(name: "Host") == host)
      let authorization = request.headers.first(name: "Authorization") ?? ""
      #expect(authorization.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date"))
      #expect(store.description.hasSuffix(":9000/b/vigil/prod"))
      await store.shutdown()
    }
  }

  // MARK: against a real server (OpenStack Swift with s3api)

  /// The tests that need the server share one (each in its own bucket): starting Swift costs seconds of CPU.
  @Suite(.sharedS3Server) struct OnARealServer {
    /// A store on `server`, shut down after `body`.
    func withStore<T: Sendable>(
      _ server: S3TestServer, bucket: String, prefix: String = "backups", partSize: Int = 8 << 20,
      secret: String? = nil, _ body: (S3BackupStore) async throws -> T
    ) async throws -> T {
      let options = S3StoreOptions(endpoint: server.endpoint, bucket: bucket, prefix: prefix, partSize: partSize)
      let store = try S3BackupStore(
        options: options,
        environment: ["AWS_ACCESS_KEY_ID": server.accessKey, "AWS_SECRET_ACCESS_KEY": secret ?? server.secretKey])
      do {
        let result = try await body(store)
        await store.shutdown()
        return result
      } catch {
        await store.shutdown()
        throw error
      }
    }

    @Test func storesListsAndDeletes() async throws {
      let server = try #require(SharedS3Server.current)
      try await withTemporaryDirectory { dir in
        try await withStore(server, bucket: "basic") { store in
          #expect(store.description == "s3 \(server.endpoint)/basic/backups")
          try await store.ensureBucket()
          try await store.ensureBucket()  // already there: fine

          try await store.put("snapshots/a/1.json", data: Data("one".utf8))
          try await store.put("snapshots/a/2 with space.json", data: Data("two".utf8))
          try await store.put("snapshots/b/1.json", data: Data("b".utf8))
          try await store.put("changelog/a/1.log", data: Data("log".utf8))
          #expect(String(decoding: try await store.data("snapshots/a/1.json"), as: UTF8.self) == "one")

          let listed = try await store.list(prefix: "snapshots/a/")
          #expect(listed.map(\.key) == ["snapshots/a/1.json", "snapshots/a/2 with space.json"])
          #expect(listed.map(\.size) == [3, 3])
          // Continuation: pages of one key each.
          #expect(
            try await store.list(prefix: "snapshots/", pageSize: 1).map(\.key)
              == ["snapshots/a/1.json", "snapshots/a/2 with space.json", "snapshots/b/1.json"])
          #expect(try await store.list(prefix: "").count == 4)

          // Overwrite, then get to a file.
          try await store.put("snapshots/a/1.json", data: Data("three".utf8))
          try await store.get("snapshots/a/1.json", to: dir + "/copy")
          #expect(FileManager.default.contents(atPath: dir + "/copy") == Data("three".utf8))

          // A small file goes up in one PUT.
          #expect(FileManager.default.createFile(atPath: dir + "/small", contents: Data("small file".utf8)))
          try await store.put("files/small", file: dir + "/small")
          #expect(try await store.data("files/small") == Data("small file".utf8))

          try await store.delete("snapshots/a/1.json")
          try await store.delete("snapshots/a/1.json")  // deleting a missing key succeeds
          #expect(
            try await store.list(prefix: "snapshots/").map(\.key)
              == ["snapshots/a/2 with space.json", "snapshots/b/1.json"])

          try await expectNotFound("snapshots/a/1.json") { _ = try await store.data("snapshots/a/1.json") }
          try await expectNotFound("snapshots/a/1.json") {
            try await store.get("snapshots/a/1.json", to: dir + "/missing")
          }
          #expect(!FileManager.default.fileExists(atPath: dir + "/missing"))
          #expect(!FileManager.default.fileExists(atPath: dir + "/missing.part"))
        }
      }
    }
    @Test func uploadsALargeFileInParts() async throws {
      let server = try #require(SharedS3Server.current)
      try await withTemporaryDirectory { dir in
        try await withStore(server, bucket: "multipart", prefix: "", partSize: S3StoreOptions.minimumPartSize) { store in
          try await store.ensureBucket()
          // 20 MiB and a bit: four whole 5 MiB parts and a short fifth.
          let size = 20 << 20 + 12_345
          var generator = SeededRandom(seed: 42)
          let words = (0...size / 8).map { _ in generator.next() }
          let original = words.withUnsafeBytes { Data($0.prefix(size)) }
          #expect(FileManager.default.createFile(atPath: dir + "/big", contents: original))

          try await store.put("snapshots/big.db", file: dir + "/big")
          let listed = try await store.list(prefix: "snapshots/")
          #expect(listed == [BackupObject(key: "snapshots/big.db", size: Int64(original.count))])
          try await store.get("snapshots/big.db", to: dir + "/big.copy")
          let copy = FileManager.default.contents(atPath: dir + "/big.copy")
          #expect(copy?.count == original.count)
          #expect(copy == original)
          // No upload is left open.
          let uploads = try await store.send(.GET, key: nil, query: [("uploads", "")], what: "list uploads")
          #expect(uploads.status == 200)
          #expect(S3XML.parse(uploads.body)?.children.contains { $0.name == "Upload" } == false)
        }
      }
    }
    @Test func errorsNameTheStatusAndCodeButNotTheSecret() async throws {
      let server = try #require(SharedS3Server.current)
      let secret = "not-the-secret-\(UUID().uuidString)"
      try await withStore(server, bucket: "errors", secret: secret) { store in
        do {
          try await store.put("k", data: Data("x".utf8))
          Issue.record("a put with the wrong secret succeeded")
        } catch let error as BackupStoreError {
          #expect(error.message.contains("403"))
          #expect(error.message.contains("SignatureDoesNotMatch"))
          #expect(error.message.contains(store.description))
          #expect(!error.message.contains(secret))
          #expect(!error.notFound)
        }
      }
      // A bucket that does not exist is an error of its own, not a missing key.
      try await withStore(server, bucket: "no-such-bucket") { store in
        do {
          _ = try await store.data("k")
          Issue.record("a get from a missing bucket succeeded")
        } catch let error as BackupStoreError {
          #expect(error.message.contains("404 NoSuchBucket"))
          #expect(!error.notFound)
        }
      }
    }
  }
}

/// Starts one S3 server (``withS3Server``) around a whole suite and hands it to its tests.
struct SharedS3Server: SuiteTrait, TestScoping {
  @TaskLocal static var current: S3TestServer?

  var isRecursive: Bool { false }

  func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    try await withS3Server { server in try await Self.$current.withValue(server) { try await function() } }
  }
}

extension Trait where Self == SharedS3Server {
  static var sharedS3Server: Self { SharedS3Server() }
}

/// Runs `body`, which must fail with a not-found error naming `key`.
func expectNotFound(_ key: String, _ body: () async throws -> Void) async throws {
  do {
    try await body()
    Issue.record("\(key) was found")
  } catch let error as BackupStoreError {
    #expect(error.notFound)
    #expect(error.message.contains("404"))
    #expect(error.message.contains(key))
  }
}
