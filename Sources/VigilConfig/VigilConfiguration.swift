import Foundation
import VigilCore

/// Vigil's whole configuration (`vigil.yaml`), resolved: every default
/// filled in, every reference checked.
public struct VigilConfiguration: Sendable, Hashable, Encodable {
  /// Where history, incidents and member data of local clusters live.
  public var stateDir: String = "./vigil-state"
  /// Address of the HTTP server (`/metrics`, `/status`).
  public var listen: String = "127.0.0.1:9464"
  /// Who may call the HTTP API, and over what.
  public var api = APIConfig()
  /// Where alerts go (none: only the API, metrics and the log tell).
  public var alerts = AlertsConfig()
  public var tiers: [String: TierConfig] = TierConfig.defaults
  public var detector: DetectorConfig = DetectorConfig()
  public var inspections: InspectionConfig = InspectionConfig()
  public var scheduler: SchedulerConfig = SchedulerConfig()
  public var history: HistoryConfig = HistoryConfig()
  public var repair: RepairConfig = RepairConfig()
  public var watchdog: WatchdogConfig = WatchdogConfig()
  public var backup: BackupConfig = BackupConfig()
  public var standby: StandbyConfig = StandbyConfig()
  /// Several replicas of Vigil sharing the fleet through a management etcd (nil: one process guards all).
  public var coordination: CoordinationConfig?
  public var probeSuites: [ProbeSuiteConfig] = []
  public var groups: [GroupConfig] = []
  public var clusters: [ClusterConfig] = []

  public init() {}
}

/// An SLA tier: how often to probe and the objectives a cluster is held to.
/// Probes of one target never overlap, so a timeout longer than the interval
/// delays the next probe rather than stacking them.
public struct TierConfig: Sendable, Hashable, Encodable {
  public var probeInterval: ConfigDuration
  public var probeTimeout: ConfigDuration
  /// Time to detect a failure that the tier promises.
  public var detectWithin: ConfigDuration
  /// Time to recover that the tier promises.
  public var recoverWithin: ConfigDuration
  /// A full snapshot at least this often.
  public var snapshotInterval: ConfigDuration = .seconds(3600)
  /// Acknowledged writes the tier may lose: a standby lagging more than this is a finding.
  public var rpo: ConfigDuration = .seconds(1)

  public static let defaults: [String: TierConfig] = [
    "P0": TierConfig(
      probeInterval: .milliseconds(200), probeTimeout: .milliseconds(500), detectWithin: .seconds(1),
      recoverWithin: .seconds(10), snapshotInterval: .seconds(900)),
    "P1": TierConfig(
      probeInterval: .seconds(1), probeTimeout: .seconds(1), detectWithin: .seconds(5), recoverWithin: .seconds(60)),
    "P2": TierConfig(
      probeInterval: .seconds(5), probeTimeout: .seconds(2), detectWithin: .seconds(30),
      recoverWithin: .seconds(300), snapshotInterval: .seconds(6 * 3600)),
  ]
}

/// Failure-detector tuning (see `VigilCore.DetectorSettings`).
public struct DetectorConfig: Sendable, Hashable, Encodable {
  public var failuresToSuspect = 1
  public var failuresToFail = 2
  public var successesToRecover = 2
  public var latencyK = 4.0
  public var latencyWindow = 64
  public var latencyFloor: ConfigDuration = .milliseconds(250)

  public var settings: DetectorSettings {
    var s = DetectorSettings()
    s.failuresToSuspect = failuresToSuspect
    s.failuresToFail = failuresToFail
    s.successesToRecover = successesToRecover
    s.latencyK = latencyK
    s.latencyWindow = latencyWindow
    s.latencyFloor = latencyFloor.duration
    return s
  }
}

/// Directed inspections: when they run and their thresholds.
public struct InspectionConfig: Sendable, Hashable, Encodable {
  public var interval: ConfigDuration = .seconds(30)
  /// DB size above this share of the quota is a finding.
  public var quotaRatio = 0.8
  /// DB size above in-use size times this is fragmentation…
  public var fragmentationRatio = 2.0
  /// …once the free pages come to at least this many bytes.
  public var fragmentationMinimumBytes: Int64 = 64 << 20
  /// A learner not promoted after this long is a finding.
  public var learnerGrace: ConfigDuration = .seconds(120)
  /// More leader changes than this per hour is a finding.
  public var leaderChangesPerHour = 3
  /// Certificates expiring sooner than this many days are a finding.
  public var certificateDays = 30
  /// Raft applied-index lag (entries) that is a finding.
  public var raftLag = 1000
  /// How often members' logs are read for known signatures.
  public var logInterval: ConfigDuration = .seconds(2)
  /// How far back log lines count as evidence.
  public var logWindow: ConfigDuration = .seconds(120)
  /// Slow-disk log lines at this many distinct seconds within the window name a slow disk on their own.
  public var logSlowDiskOccurrences = 3
  /// Leader-change log lines at this many distinct seconds within the window are a leader-churn finding.
  public var logLeaderChangeOccurrences = 3
  /// The window the trends are fitted over (4 h: the etcd mixin's growth window).
  public var trendWindow: ConfigDuration = .seconds(4 * 3600)
  /// A forecast breach further away than this is not reported.
  public var trendHorizon: ConfigDuration = .seconds(7 * 86_400)
  /// A breach forecast this close is critical (alerted).
  public var trendAlertWithin: ConfigDuration = .seconds(4 * 3600)
  /// A quota breach forecast this close that free pages explain is defragmented at once.
  public var trendActWithin: ConfigDuration = .seconds(24 * 3600)
  /// Fewest inspections a trend is fitted to.
  public var trendMinSamples = 6
}

/// How probes are scheduled.
public struct SchedulerConfig: Sendable, Hashable, Encodable {
  /// Probes running at once across all targets (each target runs one at a time).
  public var maxConcurrentProbes = 256
  /// `exec` probes running at once (each is a process).
  public var maxConcurrentExec = 16
  /// Each wait between probes is the interval ± this share of it, so probes do not fire together.
  public var jitter = 0.1
  /// How often each cluster's member list is read to notice membership changes.
  public var membershipInterval: ConfigDuration = .seconds(5)
}

/// Vigil watching its own loops (`/healthz`, the systemd watchdog, the internal watchdog).
public struct WatchdogConfig: Sendable, Hashable, Encodable {
  /// A loop is stalled once it has not turned for this many of its periods (its interval plus one turn's work)…
  public var stallPeriods: Double = 5
  /// …and for at least this long.
  public var minimumStall: ConfigDuration = .seconds(5)
  /// The internal watchdog logs the stalled loops and exits (status 70) once a loop has been stalled this
  /// long, so any supervisor restarts Vigil; nil (`off`) leaves that to systemd's `WatchdogSec=`.
  public var stallAfter: ConfigDuration? = .seconds(60)

  public init() {}

  /// The pure settings these stand for.
  public var settings: LivenessSettings {
    var s = LivenessSettings()
    s.stallPeriods = stallPeriods
    s.minimumStall = minimumStall.duration
    s.exitAfter = stallAfter?.duration
    return s
  }
}

/// Alerts that reach people: receivers, re-sending, a rate limit and the links put into each alert.
public struct AlertsConfig: Sendable, Hashable, Encodable {
  public var receivers: [AlertReceiverConfig] = []
  /// How often firing alerts are sent to Alertmanager again (it resolves one not re-sent within its
  /// `resolve_timeout`, 5 m by default).
  public var resendInterval: ConfigDuration = .seconds(60)
  /// At most this many notifications per receiver per minute; more are dropped and audited.
  public var maxPerMinute = 30
  /// Put into every alert, `{cluster}` and `{incident}` filled in.
  public var dashboardURL: String?
  public var runbookURL: String?

  public init() {}
}

public struct AlertReceiverConfig: Sendable, Hashable, Encodable {
  public enum Kind: String, Sendable, Hashable, Encodable, CaseIterable {
    case alertmanager, webhook, slack, pagerduty
  }
  public var kind: Kind
  /// Alertmanager's base URL; the webhook's, Slack's or PagerDuty's (Events v2 enqueue) URL.
  public var url: String
  /// The environment variable holding the webhook's HMAC secret, or PagerDuty's routing key.
  public var secretEnv: String?

  public init(kind: Kind, url: String, secretEnv: String? = nil) {
    self.kind = kind
    self.url = url
    self.secretEnv = secretEnv
  }
}

/// Several replicas of Vigil, coordinated through a management etcd cluster (not one of the guarded ones):
/// each registers under a lease, the fleet's clusters fall into `shards` shards, and each shard is owned by one
/// live replica; a dead replica's shards move within `leaseTTL`.
public struct CoordinationConfig: Sendable, Hashable, Encodable {
  /// The management etcd's client URLs.
  public var endpoints: [String] = []
  public var tls: TLSConfig?
  /// This replica's name among the others (unique; default: the host's name).
  public var replicaID: String = ProcessInfo.processInfo.hostName
  public var leaseTTL: ConfigDuration = .seconds(5)
  public var shards = 64
  /// Where in the management etcd the replicas keep their keys.
  public var prefix = "/vigil/coordination/"

  public init() {}
}

/// The HTTP API's access: bearer tokens with roles (made with `vigil token create`), and TLS.
public struct APIConfig: Sendable, Hashable, Encodable {
  /// Whether `/metrics` answers without a token (so Prometheus scrapes as usual).
  public var publicMetrics = true
  /// Require a token on every non-public route even while none exists. On a listener that is not a loopback
  /// address tokens are always required (and `vigil serve` refuses to start until one exists).
  public var requireTokens = false
  /// Serve HTTPS with this certificate and key (PEM); with `clientCA`, clients must present a certificate it
  /// signed.
  public var tls: APITLSConfig?
  /// Where `vigil drill run` writes its suites (one directory each), for `GET /v1/drills` and the dashboard;
  /// `vigil drill run`'s own default, relative to the directory `vigil serve` runs in.
  public var drillReports = "vigil-drills"

  public init() {}
}

public struct APITLSConfig: Sendable, Hashable, Encodable {
  public var certificate: String
  public var key: String
  public var clientCA: String?

  public init(certificate: String, key: String, clientCA: String? = nil) {
    self.certificate = certificate
    self.key = key
    self.clientCA = clientCA
  }
}

/// How standby clusters are mirrored (a cluster names its standby with `clusters[].standby`).
public struct StandbyConfig: Sendable, Hashable, Encodable {
  /// Operations per transaction the standby accepts (etcd's `--max-txn-ops`, 128 by default): a source
  /// revision with more changes is applied in parts, the position recording which part.
  public var maxTxnOps = 128
  /// How often Vigil writes a timestamp to each primary, which the standby's copy dates (lag in seconds).
  public var heartbeatInterval: ConfigDuration = .seconds(1)
  /// Revisions the standby is kept ahead of the primary at seeding, so a failover never moves revisions
  /// backwards for clients.
  public var revisionMargin = 1000
  /// TTL given to a lease the standby holds for a primary lease whose TTL cannot be read.
  public var leaseTTL: ConfigDuration = .seconds(60)
  /// How long a failover waits, after fencing the old side, for the mirror to apply what it received.
  public var drainTimeout: ConfigDuration = .seconds(5)
  /// Where the active side's healthy endpoints are written on every change (default `STATEDIR/endpoints.json`).
  public var endpointsFile: String?

  public init() {}
}

/// How long history is kept in the store.
/// Backups: where they go and how they are taken, kept, verified and restored.
public struct BackupConfig: Sendable, Hashable, Encodable {
  /// Take backups of every cluster.
  public var enabled = true
  /// The local store's directory (default `STATEDIR/backups`); ignored when `s3` is set.
  public var dir: String?
  /// An S3-compatible store instead of the local directory.
  public var s3: S3Config?
  /// A new full snapshot once the change log since the last one holds this many events or bytes.
  public var logMaxEvents = 20_000
  public var logMaxBytes: Int64 = 64 << 20
  /// The change log is written and fsynced at least this often: the loss window of a restore.
  public var flushInterval: ConfigDuration = .milliseconds(200)
  /// The open change-log segment is sealed into the store at least this often.
  public var segmentSpan: ConfigDuration = .seconds(10)
  public var retention = BackupRetentionConfig()
  /// Restore every new snapshot into a scratch etcd and compare hashes.
  public var verify = true
  /// The "last verified backup too old" inspection fires past this.
  public var maxVerifiedAge: ConfigDuration = .seconds(2 * 3600)
  /// TTL of the leases a restore re-creates for keys that had one.
  public var restoreLeaseTTL: ConfigDuration = .seconds(60)
  /// After a restore the revision is raised this far above the highest revision Vigil saw.
  public var revisionMargin = 1000

  public init() {}

  public func policy(interval: ConfigDuration) -> BackupPolicy {
    var p = BackupPolicy()
    p.snapshotInterval = interval.duration
    p.logMaxEvents = logMaxEvents
    p.logMaxBytes = logMaxBytes
    p.retention = RetentionPolicy(hourly: retention.hourly, daily: retention.daily, weekly: retention.weekly)
    return p
  }
}

public struct BackupRetentionConfig: Sendable, Hashable, Encodable {
  public var hourly = 3
  public var daily = 7
  public var weekly = 0
}

/// An S3-compatible object store; credentials come from environment variables, never from the file.
public struct S3Config: Sendable, Hashable, Encodable {
  public var endpoint: String
  public var bucket: String
  public var prefix = ""
  public var region = "us-east-1"
  public var pathStyle = true
  public var accessKeyEnv = "AWS_ACCESS_KEY_ID"
  public var secretKeyEnv = "AWS_SECRET_ACCESS_KEY"
  public var partSize = 8 << 20
}

public struct HistoryConfig: Sendable, Hashable, Encodable {
  /// Raw probe results are kept this long, then folded into per-minute rollups.
  public var rawRetention: ConfigDuration = .seconds(6 * 3600)
  public var rollupRetention: ConfigDuration = .seconds(30 * 86_400)
  /// Transitions, findings and closed incidents.
  public var eventRetention: ConfigDuration = .seconds(90 * 86_400)
  /// Raw results beyond this count are folded early.
  public var maxRawResults = 2_000_000
  /// The store in PostgreSQL (shared by every replica naming it) instead of SQLite in `stateDir`.
  public var postgres: PostgresAddress?
}

/// Automatic repair: policy, guards and limits.
public struct RepairConfig: Sendable, Hashable, Encodable {
  /// The mode of clusters that do not set `repairMode`.
  public var mode: RepairMode = .auto
  /// Fault → rule overrides on top of Vigil's defaults (`RepairPolicy.defaults`).
  public var policy: [Fault: RepairRuleConfig] = [:]
  /// Tier → fault → rule overrides.
  public var tierPolicy: [String: [Fault: RepairRuleConfig]] = [:]
  public var maxRepairsPerWindow = 6
  public var rateWindow: ConfigDuration = .seconds(600)
  public var stormMaxFailedMembers = 1
  public var stormFleetShare = 0.5
  public var stormMinClusters = 3
  public var maxAttempts = 3
  public var retryBackoff: ConfigDuration = .seconds(2)
  /// Defragment healthy clusters this often (nil: only when fragmentation is found).
  public var defragmentInterval: ConfigDuration?
  /// `clear-nospace` compacts up to the current revision minus this many.
  public var keepRevisions = 1000
  /// A membership change needs a snapshot younger than this.
  public var snapshotMaxAge: ConfigDuration = .seconds(600)
  /// Longest wait for a member to answer (started) or catch up (learner).
  public var memberTimeout: ConfigDuration = .seconds(60)
  /// Voters failed this long count as lost for good when judging quorum loss (data intact or not).
  public var quorumLossGrace: ConfigDuration = .seconds(30)
  /// Whether a restore from backup (quorum lost for good) runs at once (`auto`) or waits for a person
  /// (`approve`, the default); per tier in `tierRestoreMode`.
  public var restoreMode: RepairMode = .approve
  public var tierRestoreMode: [String: RepairMode] = [:]
  /// A cluster with a standby whose voters' majority failed this long is failed over to it (not restored).
  public var failoverAfter: ConfigDuration = .seconds(5)
  /// `failover` (the default): quorum loss on a cluster with a running standby fails over; `restore`: it is
  /// restored from backup like any other, and failovers are only by hand.
  public var quorumLossAction = "failover"
  /// Whether a failover Vigil proposes runs at once (`auto`) or waits for a person (`approve`, the default).
  public var failoverMode: RepairMode = .approve

  /// The planner's settings.
  public var settings: RepairSettings {
    var s = RepairSettings()
    var rules = RepairPolicy.defaults
    for (fault, r) in policy { rules[fault] = r.rule }
    s.policy = RepairPolicy(rules: rules, tierRules: tierPolicy.mapValues { $0.mapValues(\.rule) })
    s.maxRepairsPerWindow = maxRepairsPerWindow
    s.rateWindow = rateWindow.duration
    s.stormMaxFailedMembers = stormMaxFailedMembers
    s.stormFleetShare = stormFleetShare
    s.stormMinClusters = stormMinClusters
    s.maxAttempts = maxAttempts
    s.retryBackoff = retryBackoff.duration
    s.defragmentInterval = defragmentInterval?.duration
    s.quorumLossGrace = quorumLossGrace.duration
    s.restoreMode = restoreMode
    s.restoreModeByTier = tierRestoreMode
    s.failoverAfter = failoverAfter.duration
    s.preferFailover = quorumLossAction == "failover"
    s.failoverMode = failoverMode
    return s
  }
}

/// One policy row: the runbook for a fault ("none" to only alert), its grace, and when to replace instead.
public struct RepairRuleConfig: Sendable, Hashable, Encodable {
  public var runbook: Runbook?
  public var grace: ConfigDuration = .seconds(0)
  public var replaceAfter: ConfigDuration?

  public var rule: RepairRule { RepairRule(runbook, grace: grace.duration, replaceAfter: replaceAfter?.duration) }
}

/// The kinds of probe Vigil runs.
public enum ProbeKind: String, Sendable, Hashable, Encodable, CaseIterable {
  case etcdKV = "etcd.kv"
  case etcdWatch = "etcd.watch"
  case etcdMember = "etcd.member"
  /// The disk check (`etcdctl check perf`'s equivalent): hourly by default, never on a cluster in trouble.
  case etcdPerf = "etcd.perf"
  case http
  case tcp
  case grpcHealth = "grpc-health"
  case exec
}

/// One probe in a suite.
public struct ProbeConfig: Sendable, Hashable, Encodable {
  public var name: String
  public var kind: ProbeKind
  /// Nil: the cluster's tier decides.
  public var interval: ConfigDuration?
  public var timeout: ConfigDuration?
  /// `http`: the URL; `tcp`/`grpc-health`: `host:port`.
  public var url: String?
  public var address: String?
  /// `http`: the status expected (default 200) and an optional text the body must contain.
  public var expectStatus: Int?
  public var bodyContains: String?
  /// `grpc-health`: the service name to ask about ("" is the whole server).
  public var service: String?
  /// `exec`: the program and its arguments.
  public var command: [String]?
  /// `http`: CA file for an https URL (nil: the system's trust roots).
  public var ca: String?
  /// `etcd.*`: run once per member as well as through the cluster.
  public var perMember: Bool = true
  /// `etcd.perf`: the write load (`duration`, `writesPerSecond`, `clients`, `valueSize`).
  public var load: PerfLoad?

  /// How often it runs when the suite does not say: the tier's interval, except the disk check's hour.
  public func interval(tier: TierConfig) -> ConfigDuration {
    interval ?? (kind == .etcdPerf ? .seconds(3600) : tier.probeInterval)
  }

  /// How long a run may take when the suite does not say: the tier's timeout, except the disk check's (twice
  /// its load, and 10 s).
  public func timeout(tier: TierConfig) -> ConfigDuration {
    if let timeout { return timeout }
    guard kind == .etcdPerf else { return tier.probeTimeout }
    return ConfigDuration((load ?? PerfLoad()).duration * 2 + .seconds(10))
  }
}

/// A named set of probes, attached to groups or clusters.
public struct ProbeSuiteConfig: Sendable, Hashable, Encodable {
  public var name: String
  public var probes: [ProbeConfig]
}

/// A group of clusters sharing probe suites.
public struct GroupConfig: Sendable, Hashable, Encodable {
  public var name: String
  public var probeSuites: [String] = []
}

/// How a cluster's members run.
public enum RuntimeConfig: Sendable, Hashable, Encodable {
  /// Vigil starts and owns a local cluster (the embedded default).
  case local(members: Int)
  /// Someone else runs the members; Vigil only talks to `endpoints`.
  case external
  /// Members are run by a supervisor Vigil drives through configured commands.
  case exec(ExecRuntimeConfig)

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    switch self {
    case .local(let members):
      try c.encode("local", forKey: .kind)
      try c.encode(members, forKey: .members)
    case .external:
      try c.encode("external", forKey: .kind)
    case .exec(let e):
      try c.encode("exec", forKey: .kind)
      try c.encode(e, forKey: .exec)
    }
  }
  private enum Keys: String, CodingKey { case kind, members, exec }
}

/// The `exec` runtime driver: a command per action. Each runs with the
/// member in its environment (`VIGIL_CLUSTER`, `VIGIL_MEMBER_NAME`,
/// `VIGIL_MEMBER_CLIENT_URL`, `VIGIL_MEMBER_PEER_URL`, `VIGIL_MEMBER_DATA_DIR`,
/// `VIGIL_INITIAL_CLUSTER`, `VIGIL_INITIAL_CLUSTER_STATE`) and must exit 0 on success.
public struct ExecRuntimeConfig: Sendable, Hashable, Encodable {
  /// Start the member (idempotent: succeed when it already runs).
  public var start: [String]
  /// Stop it gracefully.
  public var stop: [String]
  /// Kill it at once (a hung process).
  public var kill: [String]
  /// Delete its data dir (it is stopped).
  public var wipe: [String]
  /// Make room for a new member named `VIGIL_MEMBER_NAME`; print
  /// `VIGIL_MEMBER_CLIENT_URL=…`, `VIGIL_MEMBER_PEER_URL=…`, `VIGIL_MEMBER_DATA_DIR=…` lines.
  public var provision: [String]
  /// Restores a member's data dir from `VIGIL_SNAPSHOT_FILE` (quorum-loss recovery); empty: not possible.
  public var restore: [String] = []
  /// Each member's data dir, `{name}` replaced by its name (for data-loss detection and the environment).
  public var dataDir: String
  /// Longest any command may run.
  public var timeout: ConfigDuration = .seconds(60)
  /// Prints the member's recent log lines (`VIGIL_LOG_SINCE`: seconds since 1970 of the last read), e.g.
  /// `journalctl -u etcd@{name} --since @$VIGIL_LOG_SINCE -o cat`; empty: its log is not read.
  public var logs: [String] = []
  /// Prints the member's etcd command line, one argument a line (e.g.
  /// `tr '\0' '\n' < /proc/$(cat /run/etcd/{name}.pid)/cmdline`), for the drift inspection; empty: not reported.
  public var arguments: [String] = []
}

/// A cluster's member certificates for `rotate-certificates`: the files each member's etcd reads (`{name}`
/// replaced by the member's name) and where the next ones come from — files put there beforehand, or a command
/// that issues them (run once a member with `VIGIL_MEMBER_NAME` and `VIGIL_NEW_CERT`, `VIGIL_NEW_KEY`,
/// `VIGIL_NEW_PEER_CERT`, `VIGIL_NEW_PEER_KEY` naming the files it must write).
public struct CertificateFilesConfig: Sendable, Hashable, Encodable {
  /// The member's server certificate and key (`--cert-file`, `--key-file`).
  public var cert: String
  public var key: String
  /// Its peer certificate and key (`--peer-cert-file`, `--peer-key-file`); nil: the member has no peer TLS of its
  /// own files (or shares the server's).
  public var peerCert: String?
  public var peerKey: String?
  /// The next certificate files, put in place beforehand.
  public var newCert: String?
  public var newKey: String?
  public var newPeerCert: String?
  public var newPeerKey: String?
  /// Or a command that issues them.
  public var issue: [String] = []

  public init(cert: String, key: String) {
    self.cert = cert
    self.key = key
  }

  /// `pattern` for one member.
  public static func path(_ pattern: String, member: String) -> String {
    pattern.replacingOccurrences(of: "{name}", with: member)
  }
}

/// Where a cluster's member logs are read, for any runtime (overrides the exec runtime's `logs` command).
public enum ClusterLogsConfig: Sendable, Hashable, Encodable {
  /// A file per member, `{name}` replaced by its name.
  case file(String)
  /// A command printing a member's recent lines (as the exec runtime's `logs`).
  case command([String])

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    switch self {
    case .file(let f): try c.encode(f, forKey: .file)
    case .command(let list): try c.encode(list, forKey: .command)
    }
  }

  private enum Keys: String, CodingKey { case file, command }
}

/// One etcd cluster Vigil guards.
public struct ClusterConfig: Sendable, Hashable, Encodable {
  public var name: String
  public var group: String?
  public var labels: [String: String] = [:]
  /// Client URLs (empty for a local runtime: they are picked at start).
  public var endpoints: [String] = []
  public var tls: TLSConfig?
  public var auth: AuthConfig?
  public var runtime: RuntimeConfig = .external
  public var tier: String = "P1"
  /// Suites attached directly (the group's suites apply too).
  public var probeSuites: [String] = []
  /// Drills may inject faults into this cluster.
  public var drillAllowed = false
  /// Voters the cluster should have (nil: the local runtime's size, or the number of endpoints).
  public var members: Int?
  /// The backend quota its members run with (`--quota-backend-bytes`; etcd's default is 2 GiB).
  public var quotaBytes: Int64?
  /// How repairs are carried out (nil: `repair.mode`).
  public var repairMode: RepairMode?
  /// The cluster (in another site) Vigil mirrors this one into and fails over to.
  public var standby: String?
  /// Where its members' logs are read (nil: the runtime's own — a local cluster's captured logs, the exec
  /// runtime's `logs` command — or none).
  public var logs: ClusterLogsConfig?
  /// What its members are declared to run; differences are `drift` findings.
  public var spec: ClusterSpec?
  /// Where its members' TLS files are and where their next ones come from, for `rotate-certificates`.
  public var certificates: CertificateFilesConfig?

  /// Voters expected, for the member-count inspection.
  public var declaredMembers: Int {
    if let members { return members }
    if case .local(let n) = runtime { return n }
    return endpoints.count
  }
}

public struct TLSConfig: Sendable, Hashable, Encodable {
  public var ca: String
  public var cert: String?
  public var key: String?
}

public struct AuthConfig: Sendable, Hashable, Encodable {
  public var user: String
  /// Name of the environment variable holding the password (never the password itself).
  public var passwordEnv: String
}

extension VigilConfiguration {
  /// Every probe that applies to `cluster`: its own suites, then its group's.
  public func probes(for cluster: ClusterConfig) -> [ProbeConfig] {
    var names = cluster.probeSuites
    if let group = cluster.group, let g = groups.first(where: { $0.name == group }) {
      names += g.probeSuites.filter { !names.contains($0) }
    }
    return names.flatMap { name in probeSuites.first { $0.name == name }?.probes ?? [] }
  }
}
