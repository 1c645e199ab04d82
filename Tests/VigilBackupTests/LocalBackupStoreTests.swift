import Foundation
import Testing
import VigilBackup
import VigilTestKit

@Suite struct LocalBackupStoreTests {
  @Test func putGetListDelete() async throws {
    try await withTemporaryDirectory { dir in
      let store = LocalBackupStore(root: dir + "/store")
      try await store.put("snapshots/a/1.json", data: Data("one".utf8))
      try await store.put("snapshots/a/2.json", data: Data("two".utf8))
      try await store.put("changelog/a/1.log", data: Data("log".utf8))
      let listed = try await store.list(prefix: "snapshots/a/")
      #expect(listed.map(\.key) == ["snapshots/a/1.json", "snapshots/a/2.json"])
      #expect(listed.map(\.size) == [3, 3])
      #expect(String(decoding: try await store.data("snapshots/a/2.json"), as: UTF8.self) == "two")
      try await store.put("snapshots/a/2.json", data: Data("three".utf8))
      try await store.get("snapshots/a/2.json", to: dir + "/copy")
      #expect(FileManager.default.contents(atPath: dir + "/copy") == Data("three".utf8))
      try await store.delete("snapshots/a/1.json")
      try await store.delete("snapshots/a/1.json")
      #expect(try await store.list(prefix: "snapshots/").map(\.key) == ["snapshots/a/2.json"])
      await #expect(throws: BackupStoreError.self) { _ = try await store.data("snapshots/a/1.json") }
    }
  }
}
