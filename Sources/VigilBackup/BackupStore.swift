import Foundation

/// One object in a backup store.
public struct BackupObject: Sendable, Hashable {
  /// The key, relative to the store's root (`snapshots/main/…`).
  public var key: String
  public var size: Int64

  public init(key: String, size: Int64) {
    self.key = key
    self.size = size
  }
}

/// A backup store refused or failed an operation; the message names the store, the key and what went wrong
/// (never a credential).
public struct BackupStoreError: Error, CustomStringConvertible, Sendable {
  public var message: String
  /// True when the key does not exist.
  public var notFound: Bool

  public init(_ message: String, notFound: Bool = false) {
    self.message = message
    self.notFound = notFound
  }

  public var description: String { message }
}

/// Where backups live: snapshots, their metadata and the change log's sealed segments, under `/`-separated keys.
/// A put is atomic for readers: they see the whole object or none of it.
public protocol BackupStore: Sendable {
  /// For logs and the CLI: `local /var/lib/vigil/backups`, `s3 http://host:port/bucket/prefix`.
  var description: String { get }
  /// Stores a local file's bytes under `key`, replacing what was there.
  func put(_ key: String, file: String) async throws(BackupStoreError)
  /// Stores `data` under `key`, replacing what was there.
  func put(_ key: String, data: Data) async throws(BackupStoreError)
  /// Writes the object's bytes to a local file (created or replaced).
  func get(_ key: String, to file: String) async throws(BackupStoreError)
  /// The object's bytes.
  func data(_ key: String) async throws(BackupStoreError) -> Data
  /// Every object whose key starts with `prefix`, sorted by key.
  func list(prefix: String) async throws(BackupStoreError) -> [BackupObject]
  /// Deletes the object; deleting a missing key succeeds.
  func delete(_ key: String) async throws(BackupStoreError)
  /// Gets the store ready before the first write (an S3 store creates its bucket if it is missing).
  func prepare() async throws(BackupStoreError)
  /// Releases connections (an S3 store's HTTP client); the store is not used afterwards.
  func shutdown() async
}

extension BackupStore {
  public func prepare() async throws(BackupStoreError) {}
  public func shutdown() async {}
}
