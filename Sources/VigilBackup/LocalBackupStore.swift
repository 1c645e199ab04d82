import Foundation
import VigilRuntime

#if canImport(Glibc)
  import Glibc
#endif

/// A backup store in a local directory (the default): each key is a file under the root. Puts write a
/// temporary file, fsync it, rename it over the key and fsync the directory, so a crash leaves the old
/// object or the new one, never a torn one.
public struct LocalBackupStore: BackupStore {
  public let root: String

  public init(root: String) {
    self.root = root
  }

  public var description: String { "local \(root)" }

  func path(_ key: String) -> String { (root as NSString).appendingPathComponent(key) }

  public func put(_ key: String, file: String) async throws(BackupStoreError) {
    let target = path(key)
    try makeParent(of: target, key: key)
    let temporary = target + ".part"
    do {
      if FileManager.default.fileExists(atPath: temporary) { try FileManager.default.removeItem(atPath: temporary) }
      try FileManager.default.copyItem(atPath: file, toPath: temporary)
    } catch {
      throw BackupStoreError("\(description): cannot copy \"\(file)\" to \(key): \(error.localizedDescription)")
    }
    try Self.commit(temporary, to: target)
  }

  public func put(_ key: String, data: Data) async throws(BackupStoreError) {
    let target = path(key)
    try makeParent(of: target, key: key)
    let temporary = target + ".part"
    guard FileManager.default.createFile(atPath: temporary, contents: data) else {
      throw BackupStoreError("\(description): cannot write \(key)")
    }
    try Self.commit(temporary, to: target)
  }

  public func get(_ key: String, to file: String) async throws(BackupStoreError) {
    let source = path(key)
    guard FileManager.default.fileExists(atPath: source) else {
      throw BackupStoreError("\(description): no object \(key)", notFound: true)
    }
    do {
      if FileManager.default.fileExists(atPath: file) { try FileManager.default.removeItem(atPath: file) }
      try FileManager.default.copyItem(atPath: source, toPath: file)
    } catch {
      throw BackupStoreError("\(description): cannot copy \(key) to \"\(file)\": \(error.localizedDescription)")
    }
  }

  public func data(_ key: String) async throws(BackupStoreError) -> Data {
    guard let data = FileManager.default.contents(atPath: path(key)) else {
      throw BackupStoreError("\(description): no object \(key)", notFound: true)
    }
    return data
  }

  public func list(prefix: String) async throws(BackupStoreError) -> [BackupObject] {
    guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
    var objects: [BackupObject] = []
    while let relative = walker.nextObject() as? String {
      guard relative.hasPrefix(prefix) || prefix.hasPrefix(relative), !relative.hasSuffix(".part") else { continue }
      let attributes = walker.fileAttributes
      guard attributes?[.type] as? FileAttributeType == .typeRegular, relative.hasPrefix(prefix) else { continue }
      objects.append(BackupObject(key: relative, size: (attributes?[.size] as? NSNumber)?.int64Value ?? 0))
    }
    return objects.sorted { $0.key < $1.key }
  }

  public func delete(_ key: String) async throws(BackupStoreError) {
    let target = path(key)
    guard FileManager.default.fileExists(atPath: target) else { return }
    do { try FileManager.default.removeItem(atPath: target) } catch {
      throw BackupStoreError("\(description): cannot delete \(key): \(error.localizedDescription)")
    }
  }

  private func makeParent(of target: String, key: String) throws(BackupStoreError) {
    let parent = (target as NSString).deletingLastPathComponent
    do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
      throw BackupStoreError("\(description): cannot create the directory for \(key): \(error.localizedDescription)")
    }
  }

  /// fsyncs `temporary`, renames it over `target` and fsyncs the directory.
  static func commit(_ temporary: String, to target: String) throws(BackupStoreError) {
    do { try DurableFile.commit(temporary, to: target) } catch { throw BackupStoreError(error.description) }
  }

  /// Flushes a file's or directory's data to disk.
  public static func fsync(path: String) throws(BackupStoreError) {
    do { try DurableFile.fsync(path: path) } catch { throw BackupStoreError(error.description) }
  }
}
