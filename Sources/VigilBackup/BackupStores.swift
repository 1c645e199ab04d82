import Foundation
import VigilConfig

/// The store a configuration names.
public enum BackupStores {
  /// `backup.s3` if set, else the local directory `backup.dir` (default `STATEDIR/backups`); nil when
  /// backups are off. The caller shuts the store down.
  /// - Throws: ``BackupStoreError`` naming the setting at fault (an S3 credential variable that is unset).
  public static func make(
    _ configuration: VigilConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(BackupStoreError) -> (any BackupStore)? {
    let b = configuration.backup
    guard b.enabled else { return nil }
    if let s3 = b.s3 {
      do {
        return try S3BackupStore(
          options: S3StoreOptions(
            endpoint: s3.endpoint, bucket: s3.bucket, prefix: s3.prefix, region: s3.region, pathStyle: s3.pathStyle,
            accessKeyEnv: s3.accessKeyEnv, secretKeyEnv: s3.secretKeyEnv, partSize: s3.partSize),
          environment: environment)
      } catch {
        throw BackupStoreError("backup.s3: \(error)")
      }
    }
    return LocalBackupStore(root: b.dir ?? (configuration.stateDir as NSString).appendingPathComponent("backups"))
  }
}
