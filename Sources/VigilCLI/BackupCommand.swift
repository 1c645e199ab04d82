import ArgumentParser
import Foundation
import Logging
import VigilBackup
import VigilConfig
import VigilCore

/// `vigil backup list|verify|restore`: works on the backup store itself (Vigil may be stopped).
struct BackupCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "backup",
    abstract: "List, verify and restore Vigil's backups (snapshots + change log), straight from the store.",
    subcommands: [List.self, Verify.self, Restore.self],
    defaultSubcommand: List.self)

  /// Which store and cluster.
  struct StoreOptions: ParsableArguments {
    @Option(help: "Vigil configuration whose backup store to use (backup.dir or backup.s3).") var config: String?
    @Option(help: "A local backup directory (instead of --config).") var dir: String?
    @Option(help: "The cluster (default: the only one in the store).") var cluster: String?

    func store() throws -> any BackupStore {
      if let dir {
        guard FileManager.default.fileExists(atPath: dir) else { throw CLIError("--dir: \"\(dir)\" does not exist", exitCode: 64) }
        return LocalBackupStore(root: dir)
      }
      guard let config else { throw CLIError("give --config FILE or --dir DIR", exitCode: 64) }
      let configuration: VigilConfiguration
      do { configuration = try ConfigLoader.load(file: config) } catch {
        throw CLIError("--config: \(error.problems.first.map { "\(config): \($0)" } ?? "\(config): invalid")", exitCode: 64)
      }
      do {
        guard let store = try BackupStores.make(configuration) else {
          throw CLIError("--config: backups are off in \(config) (backup.enabled: false)", exitCode: 64)
        }
        return store
      } catch let error as BackupStoreError {
        throw CLIError("--config: \(error)", exitCode: 64)
      }
    }

    /// Runs `body` with the store, shut down afterwards (an S3 store holds an HTTP client).
    func using(_ body: (any BackupStore) async throws -> Void) async throws {
      let backend = try store()
      do { try await body(backend) } catch {
        await backend.shutdown()
        throw error
      }
      await backend.shutdown()
    }

    /// The named cluster, or the only one the store holds.
    func clusterName(in store: any BackupStore) async throws -> String {
      if let cluster { return cluster }
      let names = Set(try await store.list(prefix: "").compactMap { $0.key.split(separator: "/").first.map(String.init) })
      guard names.count == 1, let only = names.first else {
        throw CLIError(
          names.isEmpty ? "the store \(store.description) holds no backups" : "--cluster: the store holds several (\(names.sorted().joined(separator: ", "))); name one",
          exitCode: 64)
      }
      return only
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Snapshots, their verification, and the change log.")
    @OptionGroup var store: StoreOptions

    func run() async throws { try await store.using(list) }

    func list(_ backend: any BackupStore) async throws {
      let cluster = try await store.clusterName(in: backend)
      let catalogue = BackupCatalogue(store: backend, cluster: cluster)
      let (records, problems) = try await catalogue.snapshots()
      var table = Table(["SNAPSHOT", "TAKEN", "REASON", "FROM", "REVISION", "SIZE", "VERIFIED"])
      for r in records.reversed() {
        table.add([
          r.id, IncidentsCommand.time(r.takenAt), r.reason.rawValue, r.member, r.revision > 0 ? "\(r.revision)" : "≥\(r.revisionAtStart)",
          Self.bytes(r.size), r.verification == .verified ? "yes \(r.verifiedAt.map(IncidentsCommand.time) ?? "")" : r.verification.rawValue,
        ])
      }
      print("\(cluster) in \(backend.description)")
      print(records.isEmpty ? "no snapshots" : table.render())
      let segments = try await catalogue.segments()
      if let first = segments.first, let last = segments.last {
        let bytes = segments.reduce(Int64(0)) { $0 + $1.size }
        print("change log: \(segments.count) segment(s), revisions \(first.firstRevision)–\(last.lastRevision), \(Self.bytes(bytes))")
      } else {
        print("change log: no sealed segments")
      }
      let mark = await catalogue.watermark()
      if mark > 0 { print("highest revision seen: \(mark)") }
      for p in problems { print("problem: \(p)") }
    }

    static func bytes(_ n: Int64) -> String {
      n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / Double(1 << 20)) : String(format: "%.1f KiB", Double(n) / 1024)
    }
  }

  struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Restore a stored snapshot into a scratch etcd and check it against what was recorded.",
      discussion: "Exits 0 when it checks out, 2 when it does not.")
    @OptionGroup var store: StoreOptions
    @Option(help: "The snapshot id (default: the newest verified one).") var snapshot: String?

    func run() async throws { try await store.using(verify) }

    func verify(_ backend: any BackupStore) async throws {
      let cluster = try await store.clusterName(in: backend)
      let records = try await BackupCatalogue(store: backend, cluster: cluster).snapshots().records
      let record: SnapshotRecord
      if let snapshot {
        guard let r = records.first(where: { $0.id == snapshot }) else {
          throw CLIError("--snapshot: no snapshot \"\(snapshot)\" of \(cluster) (have: \(records.map(\.id).suffix(5).joined(separator: ", ")))", exitCode: 64)
        }
        record = r
      } else {
        guard let r = records.last(where: { $0.verification == .verified }) else {
          throw CLIError("\(cluster) has no verified snapshot in \(backend.description)", exitCode: 2)
        }
        record = r
      }
      var logger = Logger(label: "vigil.backup")
      logger.logLevel = .warning
      do {
        let detail = try await BackupVerifier.recheck(
          record, store: backend, scratch: FileManager.default.temporaryDirectory.path, logger: logger)
        print("verified: \(detail)")
      } catch {
        print("FAILED: snapshot \(record.id): \(error)")
        throw ExitCode(2)
      }
    }
  }

  struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Build a snapshot of a chosen point (newest, a revision or a time) to restore a new cluster from.",
      discussion: """
        The newest verified snapshot at or before the point, with the change log replayed on top (one \
        transaction per source revision, so revisions match the source's), the revision raised above the \
        highest one Vigil saw and compacted there. Restore every member of the new cluster from the file with \
        plain `etcdctl snapshot restore` and a new --initial-cluster-token, or try it locally with \
        `vigil cluster up --from-snapshot FILE`.
        """)
    @OptionGroup var store: StoreOptions
    @Option(help: "Restore to this store revision.") var revision: Int64?
    @Option(help: "Restore to this time (RFC 3339, e.g. 2026-11-30T14:00:00Z, or Unix seconds).") var time: String?
    @Option(help: "Where to write the snapshot to restore from.") var output: String
    @Option(help: "Revisions to raise above the highest one Vigil saw.") var margin: Int64 = 1000
    @Option(help: "TTL in seconds of the leases re-created for replayed keys.") var leaseTTL: Int64 = 60

    func run() async throws {
      if revision != nil && time != nil { throw CLIError("give --revision or --time, not both", exitCode: 64) }
      let target: RestoreTarget
      if let revision {
        guard revision > 0 else { throw CLIError("--revision: \(revision) is not a store revision (expected > 0)", exitCode: 64) }
        target = .revision(revision)
      } else if let time {
        guard let t = Self.parseTime(time) else {
          throw CLIError("--time: \"\(time)\" is not a time (expected RFC 3339 such as 2026-11-30T14:00:00Z, or Unix seconds)", exitCode: 64)
        }
        target = .time(t)
      } else {
        target = .latest
      }
      guard margin >= 0 else { throw CLIError("--margin: \(margin) is negative", exitCode: 64) }
      guard leaseTTL > 0 else { throw CLIError("--lease-ttl: \(leaseTTL) must be positive", exitCode: 64) }
      if FileManager.default.fileExists(atPath: output) { throw CLIError("--output: \"\(output)\" exists; choose a new path", exitCode: 64) }
      try await store.using { backend in try await restore(backend, target: target) }
    }

    func restore(_ backend: any BackupStore, target: RestoreTarget) async throws {
      let cluster = try await store.clusterName(in: backend)
      var logger = Logger(label: "vigil.backup")
      logger.logLevel = .warning
      let work = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-restore-\(UUID().uuidString.prefix(8))").path
      defer { try? FileManager.default.removeItem(atPath: work) }
      let inputs: RestoreInputs
      do { inputs = try await BackupRestore.prepare(store: backend, cluster: cluster, target: target, directory: work) } catch {
        throw CLIError("\(error)", exitCode: 2)
      }
      let (outcome, file) = try await BackupRestore.rebuild(inputs, directory: work, margin: margin, leaseTTL: leaseTTL, logger: logger)
      do { try FileManager.default.moveItem(atPath: file, toPath: output) } catch {
        throw CLIError("--output: cannot write \"\(output)\": \(error.localizedDescription)")
      }
      print("restored \(cluster) to revision \(outcome.restoredRevision) (newest change \(IncidentsCommand.time(outcome.dataTime))):")
      print("  snapshot \(outcome.snapshot) (revision \(outcome.snapshotRevision)) + \(outcome.replayedRecords) change-log record(s)")
      print("  revision raised to \(outcome.finalRevision) and compacted there (watches from before fail as compacted)")
      print("  written to \(output)")
      print("restore each member of the new cluster with:")
      print("  ETCDCTL_API=3 etcdctl snapshot restore \(output) --name NAME --initial-cluster NAME=PEER_URL,… --initial-cluster-token NEW_TOKEN --initial-advertise-peer-urls PEER_URL --data-dir DIR")
      print("or try it locally: vigil cluster up --from-snapshot \(output)")
    }

    static func parseTime(_ text: String) -> Double? {
      if let seconds = Double(text) { return seconds }
      let f = ISO8601DateFormatter()
      if let d = f.date(from: text) { return d.timeIntervalSince1970 }
      f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
      return f.date(from: text)?.timeIntervalSince1970
    }
  }
}
