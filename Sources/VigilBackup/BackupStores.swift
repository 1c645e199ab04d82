import Foundation
import VigilConfig

/// The store a configuration names.
public enum BackupStores {
  /// `backup.s3` if set, else the local directory `backup.dir` (default `STATEDIR/backups`); nil when
  /// backups are off.
  /// - Throws: ``BackupStoreError`` naming the setting at fault (an S3 credential variable that is unset).
  public static func make(_ configuration: VigilConfiguration) throws(BackupStoreError) -> (any BackupStore)? {
    let b = configuration.backup
    guard b.enabled else { return nil }
    return LocalBackupStore(root: b.dir ?? (configuration.stateDir as NSString).appendingPathComponent("backups"))
  }
}
