import Foundation
import VigilCore
import VigilEndpoints
import Yams

/// One thing wrong with a configuration file, at its path in the file.
public struct ConfigProblem: Sendable, Hashable, CustomStringConvertible {
  /// Where: `clusters[1].endpoints[0]`.
  public var path: String
  /// 1-based line in the file, when known.
  public var line: Int?
  public var message: String

  public var description: String {
    (line.map { "line \($0): " } ?? "") + (path.isEmpty ? message : "\(path): \(message)")
  }
}

/// A configuration that cannot be used, with every problem found.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
  public var file: String
  public var problems: [ConfigProblem]
  public var description: String {
    "\(file): \(problems.count) problem\(problems.count == 1 ? "" : "s")\n"
      + problems.map { "  \($0)" }.joined(separator: "\n")
  }
}

/// Reads `vigil.yaml`: parses, fills defaults, validates every field and
/// reports all problems at once.
public enum ConfigLoader {
  /// Loads and validates a file.
  /// - Throws: ``ConfigError`` listing every problem with its path.
  public static func load(file: String) throws(ConfigError) -> VigilConfiguration {
    guard let data = FileManager.default.contents(atPath: file) else {
      throw ConfigError(file: file, problems: [ConfigProblem(path: "", message: "cannot read the file")])
    }
    return try parse(String(decoding: data, as: UTF8.self), file: file)
  }

  /// Parses and validates YAML text. Relative file paths in it are taken as they are.
  public static func parse(
    _ yaml: String, file: String = "vigil.yaml",
    fileExists: @escaping (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
  ) throws(ConfigError) -> VigilConfiguration {
    let root: Node?
    do { root = try Yams.compose(yaml: yaml) } catch {
      throw ConfigError(file: file, problems: [ConfigProblem(path: "", message: "not valid YAML: \(error)")])
    }
    var reader = ConfigReader(fileExists: fileExists)
    let config = reader.configuration(root)
    if !reader.problems.isEmpty { throw ConfigError(file: file, problems: reader.problems) }
    return config
  }
}

/// Walks the YAML tree, building the configuration and collecting problems.
struct ConfigReader {
  var problems: [ConfigProblem] = []
  let fileExists: (String) -> Bool

  init(fileExists: @escaping (String) -> Bool) { self.fileExists = fileExists }

  mutating func problem(_ path: String, _ node: Node?, _ message: String) {
    problems.append(ConfigProblem(path: path, line: node?.mark?.line, message: message))
  }

  // MARK: top level

  mutating func configuration(_ root: Node?) -> VigilConfiguration {
    var c = VigilConfiguration()
    guard let root else {
      problem("", nil, "the file is empty (expected at least a clusters: list)")
      return c
    }
    guard
      let map = mapping(
        root, "",
        keys: [
          "stateDir", "listen", "api", "alerts", "tiers", "detector", "inspections", "scheduler", "history", "repair", "watchdog",
          "backup", "standby", "coordination", "probeSuites", "groups", "clusters",
        ])
    else { return c }
    if let n = map["stateDir"], let s = string(n, "stateDir") { c.stateDir = s }
    if let n = map["listen"], let s = string(n, "listen") {
      if let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port),
        colon != s.startIndex
      {
        c.listen = s
      } else {
        problem("listen", n, "\"\(s)\" is not host:port (e.g. 127.0.0.1:9464; port 0 picks a free one)")
      }
    }
    if let n = map["api"] { c.api = api(n) }
    if let n = map["coordination"] { c.coordination = coordination(n) }
    if let n = map["alerts"] { c.alerts = alerts(n) }
    if let n = map["tiers"] { tiers(n, into: &c) }
    if let n = map["detector"] { c.detector = detector(n) }
    if let n = map["inspections"] { c.inspections = inspections(n) }
    if let n = map["scheduler"] { c.scheduler = scheduler(n) }
    if let n = map["history"] { c.history = history(n) }
    if let n = map["repair"] { c.repair = repair(n) }
    if let n = map["watchdog"] { c.watchdog = watchdog(n) }
    if let n = map["backup"] { c.backup = backup(n) }
    if let n = map["standby"] { c.standby = standby(n) }
    if let n = map["probeSuites"] { c.probeSuites = list(n, "probeSuites") { r, n, p in r.suite(n, p) } }
    if let n = map["groups"] { c.groups = list(n, "groups") { r, n, p in r.group(n, p) } }
    if let n = map["clusters"] {
      c.clusters = list(n, "clusters") { r, n, p in r.cluster(n, p) }
    } else {
      problem("clusters", root, "missing (expected a list of clusters)")
    }
    crossCheck(&c, root: root, clustersNode: map["clusters"])
    return c
  }

  mutating func tiers(_ node: Node, into c: inout VigilConfiguration) {
    guard case .mapping(let m) = node else {
      problem("tiers", node, "expected a mapping of tier name to settings")
      return
    }
    for (k, v) in m {
      guard let name = k.string, !name.isEmpty else {
        problem("tiers", k, "tier names must be strings")
        continue
      }
      let path = "tiers.\(name)"
      var tier = c.tiers[name] ?? TierConfig.defaults["P1"]!
      guard
        let map = mapping(
          v, path, keys: ["probeInterval", "probeTimeout", "detectWithin", "recoverWithin", "snapshotInterval", "rpo"])
      else { continue }
      if let n = map["snapshotInterval"], let d = duration(n, "\(path).snapshotInterval") {
        if d.duration < .seconds(10) {
          problem("\(path).snapshotInterval", n, "\(d) is too short (expected at least 10s)")
        } else {
          tier.snapshotInterval = d
        }
      }
      if let n = map["rpo"], let d = duration(n, "\(path).rpo") { tier.rpo = d }
      if let n = map["probeInterval"], let d = duration(n, "\(path).probeInterval") { tier.probeInterval = d }
      if let n = map["probeTimeout"], let d = duration(n, "\(path).probeTimeout") { tier.probeTimeout = d }
      if let n = map["detectWithin"], let d = duration(n, "\(path).detectWithin") { tier.detectWithin = d }
      if let n = map["recoverWithin"], let d = duration(n, "\(path).recoverWithin") { tier.recoverWithin = d }
      c.tiers[name] = tier
    }
  }

  mutating func detector(_ node: Node) -> DetectorConfig {
    var d = DetectorConfig()
    let keys = ["failuresToSuspect", "failuresToFail", "successesToRecover", "latencyK", "latencyWindow", "latencyFloor"]
    guard let map = mapping(node, "detector", keys: keys) else { return d }
    if let n = map["failuresToSuspect"], let v = int(n, "detector.failuresToSuspect", 1...100) { d.failuresToSuspect = v }
    if let n = map["failuresToFail"], let v = int(n, "detector.failuresToFail", 1...100) { d.failuresToFail = v }
    if let n = map["successesToRecover"], let v = int(n, "detector.successesToRecover", 1...100) {
      d.successesToRecover = v
    }
    if let n = map["latencyK"], let v = double(n, "detector.latencyK", 0.5...50) { d.latencyK = v }
    if let n = map["latencyWindow"], let v = int(n, "detector.latencyWindow", 2...10_000) { d.latencyWindow = v }
    if let n = map["latencyFloor"], let v = duration(n, "detector.latencyFloor") { d.latencyFloor = v }
    if d.failuresToFail < d.failuresToSuspect {
      problem(
        "detector.failuresToFail", map["failuresToFail"] ?? node,
        "\(d.failuresToFail) is below failuresToSuspect (\(d.failuresToSuspect))")
    }
    return d
  }

  mutating func inspections(_ node: Node) -> InspectionConfig {
    var i = InspectionConfig()
    let keys = [
      "interval", "quotaRatio", "fragmentationRatio", "fragmentationMinimumBytes", "learnerGrace",
      "leaderChangesPerHour", "certificateDays", "raftLag", "logInterval", "logWindow", "logSlowDiskOccurrences",
      "logLeaderChangeOccurrences", "trendWindow", "trendHorizon", "trendAlertWithin", "trendActWithin",
      "trendMinSamples",
    ]
    guard let map = mapping(node, "inspections", keys: keys) else { return i }
    if let n = map["interval"], let v = duration(n, "inspections.interval") { i.interval = v }
    if let n = map["quotaRatio"], let v = double(n, "inspections.quotaRatio", 0.01...1) { i.quotaRatio = v }
    if let n = map["fragmentationRatio"], let v = double(n, "inspections.fragmentationRatio", 1...100) {
      i.fragmentationRatio = v
    }
    if let n = map["fragmentationMinimumBytes"], let v = int(n, "inspections.fragmentationMinimumBytes", 0...(1 << 40)) {
      i.fragmentationMinimumBytes = Int64(v)
    }
    if let n = map["learnerGrace"], let v = duration(n, "inspections.learnerGrace") { i.learnerGrace = v }
    if let n = map["leaderChangesPerHour"], let v = int(n, "inspections.leaderChangesPerHour", 0...10_000) {
      i.leaderChangesPerHour = v
    }
    if let n = map["certificateDays"], let v = int(n, "inspections.certificateDays", 1...3650) { i.certificateDays = v }
    if let n = map["raftLag"], let v = int(n, "inspections.raftLag", 1...10_000_000) { i.raftLag = v }
    if let n = map["logInterval"], let v = duration(n, "inspections.logInterval") { i.logInterval = v }
    if let n = map["logWindow"], let v = duration(n, "inspections.logWindow") { i.logWindow = v }
    if let n = map["logSlowDiskOccurrences"], let v = int(n, "inspections.logSlowDiskOccurrences", 1...10_000) {
      i.logSlowDiskOccurrences = v
    }
    if let n = map["logLeaderChangeOccurrences"], let v = int(n, "inspections.logLeaderChangeOccurrences", 1...10_000) {
      i.logLeaderChangeOccurrences = v
    }
    if let n = map["trendWindow"], let v = duration(n, "inspections.trendWindow") { i.trendWindow = v }
    if let n = map["trendHorizon"], let v = duration(n, "inspections.trendHorizon") { i.trendHorizon = v }
    if let n = map["trendAlertWithin"], let v = duration(n, "inspections.trendAlertWithin") { i.trendAlertWithin = v }
    if let n = map["trendActWithin"], let v = duration(n, "inspections.trendActWithin") { i.trendActWithin = v }
    if let n = map["trendMinSamples"], let v = int(n, "inspections.trendMinSamples", 3...10_000) { i.trendMinSamples = v }
    return i
  }

  mutating func scheduler(_ node: Node) -> SchedulerConfig {
    var s = SchedulerConfig()
    guard
      let map = mapping(node, "scheduler", keys: ["maxConcurrentProbes", "maxConcurrentExec", "jitter", "membershipInterval"])
    else { return s }
    if let n = map["maxConcurrentProbes"], let v = int(n, "scheduler.maxConcurrentProbes", 1...100_000) {
      s.maxConcurrentProbes = v
    }
    if let n = map["maxConcurrentExec"], let v = int(n, "scheduler.maxConcurrentExec", 1...1000) { s.maxConcurrentExec = v }
    if let n = map["jitter"], let v = double(n, "scheduler.jitter", 0...0.5) { s.jitter = v }
    if let n = map["membershipInterval"], let v = duration(n, "scheduler.membershipInterval") { s.membershipInterval = v }
    return s
  }

  mutating func watchdog(_ node: Node) -> WatchdogConfig {
    var w = WatchdogConfig()
    guard let map = mapping(node, "watchdog", keys: ["stallPeriods", "minimumStall", "stallAfter"]) else { return w }
    if let n = map["stallPeriods"], let v = double(n, "watchdog.stallPeriods", 2...1000) { w.stallPeriods = v }
    if let n = map["minimumStall"], let v = duration(n, "watchdog.minimumStall") { w.minimumStall = v }
    if let n = map["stallAfter"] {
      if n.string == "off" {
        w.stallAfter = nil
      } else if case .scalar(let text) = n, let v = ConfigDuration(parsing: text.string), v.duration > .zero {
        w.stallAfter = v
      } else {
        problem("watchdog.stallAfter", n, "\"\(n.string ?? "?")\" is not a positive duration or off (e.g. 60s, 2m, off)")
      }
    }
    return w
  }

  mutating func history(_ node: Node) -> HistoryConfig {
    var h = HistoryConfig()
    guard
      let map = mapping(
        node, "history",
        keys: ["rawRetention", "rollupRetention", "eventRetention", "maxRawResults", "postgres", "postgresPasswordFile"])
    else { return h }
    if let n = map["rawRetention"], let v = duration(n, "history.rawRetention") { h.rawRetention = v }
    if let n = map["rollupRetention"], let v = duration(n, "history.rollupRetention") { h.rollupRetention = v }
    if let n = map["eventRetention"], let v = duration(n, "history.eventRetention") { h.eventRetention = v }
    if let n = map["maxRawResults"], let v = int(n, "history.maxRawResults", 1000...1_000_000_000) { h.maxRawResults = v }
    if let n = map["postgres"], let v = string(n, "history.postgres") {
      do { h.postgres = try PostgresAddress.parse(v) } catch { problem("history.postgres", n, error.description) }
    }
    if let n = map["postgresPasswordFile"], let path = string(n, "history.postgresPasswordFile") {
      if h.postgres == nil {
        problem("history.postgresPasswordFile", n, "set without history.postgres")
      } else if let text = try? String(contentsOfFile: path, encoding: .utf8) {
        h.postgres?.password = text.trimmingCharacters(in: .whitespacesAndNewlines)
      } else {
        problem("history.postgresPasswordFile", n, "cannot read \"\(path)\" (expected a file holding the password)")
      }
    }
    return h
  }

  mutating func repair(_ node: Node) -> RepairConfig {
    var r = RepairConfig()
    let keys = [
      "mode", "policy", "tierPolicy", "maxRepairsPerWindow", "rateWindow", "stormMaxFailedMembers", "stormFleetShare",
      "stormMinClusters", "maxAttempts", "retryBackoff", "defragmentInterval", "keepRevisions", "snapshotMaxAge",
      "memberTimeout", "quorumLossGrace", "restoreMode", "tierRestoreMode", "failoverAfter", "quorumLossAction",
      "failoverMode",
    ]
    guard let map = mapping(node, "repair", keys: keys) else { return r }
    if let n = map["failoverAfter"], let v = duration(n, "repair.failoverAfter") { r.failoverAfter = v }
    if let n = map["failoverMode"], let m = restoreMode(n, "repair.failoverMode") { r.failoverMode = m }
    if let n = map["quorumLossAction"], let v = string(n, "repair.quorumLossAction") {
      if ["failover", "restore"].contains(v) {
        r.quorumLossAction = v
      } else {
        problem("repair.quorumLossAction", n, "\"\(v)\" is not an action (expected failover or restore)")
      }
    }
    if let n = map["quorumLossGrace"], let v = duration(n, "repair.quorumLossGrace") { r.quorumLossGrace = v }
    if let n = map["restoreMode"], let m = restoreMode(n, "repair.restoreMode") { r.restoreMode = m }
    if let n = map["tierRestoreMode"] {
      if case .mapping(let m) = n {
        for (k, v) in m {
          guard let tier = k.string else { continue }
          if let mode = restoreMode(v, "repair.tierRestoreMode.\(tier)") { r.tierRestoreMode[tier] = mode }
        }
      } else {
        problem("repair.tierRestoreMode", n, "expected a mapping of tier name to approve or auto")
      }
    }
    if let n = map["mode"], let m = repairMode(n, "repair.mode") { r.mode = m }
    if let n = map["policy"] { r.policy = policyTable(n, "repair.policy") }
    if let n = map["tierPolicy"] {
      if case .mapping(let m) = n {
        for (k, v) in m {
          guard let tier = k.string else { continue }
          r.tierPolicy[tier] = policyTable(v, "repair.tierPolicy.\(tier)")
        }
      } else {
        problem("repair.tierPolicy", n, "expected a mapping of tier name to a policy table")
      }
    }
    if let n = map["maxRepairsPerWindow"], let v = int(n, "repair.maxRepairsPerWindow", 1...10_000) {
      r.maxRepairsPerWindow = v
    }
    if let n = map["rateWindow"], let v = duration(n, "repair.rateWindow") { r.rateWindow = v }
    if let n = map["stormMaxFailedMembers"], let v = int(n, "repair.stormMaxFailedMembers", 0...100) {
      r.stormMaxFailedMembers = v
    }
    if let n = map["stormFleetShare"], let v = double(n, "repair.stormFleetShare", 0...1) { r.stormFleetShare = v }
    if let n = map["stormMinClusters"], let v = int(n, "repair.stormMinClusters", 1...100_000) { r.stormMinClusters = v }
    if let n = map["maxAttempts"], let v = int(n, "repair.maxAttempts", 1...100) { r.maxAttempts = v }
    if let n = map["retryBackoff"], let v = duration(n, "repair.retryBackoff") { r.retryBackoff = v }
    if let n = map["defragmentInterval"], let v = duration(n, "repair.defragmentInterval") { r.defragmentInterval = v }
    if let n = map["keepRevisions"], let v = int(n, "repair.keepRevisions", 0...100_000_000) { r.keepRevisions = v }
    if let n = map["snapshotMaxAge"], let v = duration(n, "repair.snapshotMaxAge") { r.snapshotMaxAge = v }
    if let n = map["memberTimeout"], let v = duration(n, "repair.memberTimeout") { r.memberTimeout = v }
    return r
  }

  mutating func backup(_ node: Node) -> BackupConfig {
    var b = BackupConfig()
    let keys = [
      "enabled", "dir", "s3", "logMaxEvents", "logMaxBytes", "flushInterval", "segmentSpan", "retention", "verify",
      "maxVerifiedAge", "restoreLeaseTTL", "revisionMargin",
    ]
    guard let map = mapping(node, "backup", keys: keys) else { return b }
    if let n = map["enabled"], let v = bool(n, "backup.enabled") { b.enabled = v }
    if let n = map["dir"], let v = string(n, "backup.dir") { b.dir = v }
    if let n = map["s3"] {
      let s3Keys = ["endpoint", "bucket", "prefix", "region", "pathStyle", "accessKeyEnv", "secretKeyEnv", "partSize"]
      if let m = mapping(n, "backup.s3", keys: s3Keys) {
        var s3 = S3Config(endpoint: "", bucket: "")
        if let e = m["endpoint"], let v = string(e, "backup.s3.endpoint") {
          if v.hasPrefix("http://") || v.hasPrefix("https://") {
            s3.endpoint = v
          } else {
            problem("backup.s3.endpoint", e, "\"\(v)\" is not an http:// or https:// URL")
          }
        } else if m["endpoint"] == nil {
          problem("backup.s3.endpoint", n, "missing (the S3 API's URL, e.g. https://s3.example.com)")
        }
        if let e = m["bucket"], let v = string(e, "backup.s3.bucket") { s3.bucket = v } else if m["bucket"] == nil {
          problem("backup.s3.bucket", n, "missing (the bucket to store backups in)")
        }
        if let e = m["prefix"], let v = string(e, "backup.s3.prefix") { s3.prefix = v }
        if let e = m["region"], let v = string(e, "backup.s3.region") { s3.region = v }
        if let e = m["pathStyle"], let v = bool(e, "backup.s3.pathStyle") { s3.pathStyle = v }
        if let e = m["accessKeyEnv"], let v = string(e, "backup.s3.accessKeyEnv") { s3.accessKeyEnv = v }
        if let e = m["secretKeyEnv"], let v = string(e, "backup.s3.secretKeyEnv") { s3.secretKeyEnv = v }
        if let e = m["partSize"], let v = int(e, "backup.s3.partSize", (5 << 20)...(5 << 30)) { s3.partSize = v }
        b.s3 = s3
      }
    }
    if let n = map["logMaxEvents"], let v = int(n, "backup.logMaxEvents", 100...100_000_000) { b.logMaxEvents = v }
    if let n = map["logMaxBytes"], let v = int(n, "backup.logMaxBytes", 4096...(1 << 40)) { b.logMaxBytes = Int64(v) }
    if let n = map["flushInterval"], let v = duration(n, "backup.flushInterval") {
      if v.duration > .seconds(1) || v.duration < .milliseconds(10) {
        problem("backup.flushInterval", n, "\(v) is out of range (expected 10ms to 1s: the change log's loss window)")
      } else {
        b.flushInterval = v
      }
    }
    if let n = map["segmentSpan"], let v = duration(n, "backup.segmentSpan") { b.segmentSpan = v }
    if let n = map["retention"], let m = mapping(n, "backup.retention", keys: ["hourly", "daily", "weekly"]) {
      if let e = m["hourly"], let v = int(e, "backup.retention.hourly", 0...10_000) { b.retention.hourly = v }
      if let e = m["daily"], let v = int(e, "backup.retention.daily", 0...10_000) { b.retention.daily = v }
      if let e = m["weekly"], let v = int(e, "backup.retention.weekly", 0...10_000) { b.retention.weekly = v }
    }
    if let n = map["verify"], let v = bool(n, "backup.verify") { b.verify = v }
    if let n = map["maxVerifiedAge"], let v = duration(n, "backup.maxVerifiedAge") { b.maxVerifiedAge = v }
    if let n = map["restoreLeaseTTL"], let v = duration(n, "backup.restoreLeaseTTL") { b.restoreLeaseTTL = v }
    if let n = map["revisionMargin"], let v = int(n, "backup.revisionMargin", 1...100_000_000) { b.revisionMargin = v }
    return b
  }

  mutating func restoreMode(_ node: Node, _ path: String) -> RepairMode? {
    guard let text = string(node, path) else { return nil }
    guard text == "approve" || text == "auto" else {
      problem(path, node, "unknown restore mode \"\(text)\" (expected approve or auto)")
      return nil
    }
    return RepairMode(rawValue: text)
  }

  mutating func alerts(_ node: Node) -> AlertsConfig {
    var a = AlertsConfig()
    guard
      let map = mapping(node, "alerts", keys: ["receivers", "resendInterval", "maxPerMinute", "dashboardURL", "runbookURL"])
    else { return a }
    if let n = map["resendInterval"], let v = duration(n, "alerts.resendInterval") {
      if v.duration < .seconds(1) || v.duration > .seconds(3600) {
        problem("alerts.resendInterval", n, "\(v) is out of range (expected 1s to 1h, below Alertmanager's resolve_timeout)")
      } else {
        a.resendInterval = v
      }
    }
    if let n = map["maxPerMinute"], let v = int(n, "alerts.maxPerMinute", 1...10_000) { a.maxPerMinute = v }
    for key in ["dashboardURL", "runbookURL"] {
      guard let n = map[key], let v = string(n, "alerts.\(key)") else { continue }
      guard let url = URL(string: v.replacingOccurrences(of: "{cluster}", with: "c").replacingOccurrences(of: "{incident}", with: "1")),
        url.scheme != nil || v.hasPrefix("/") || !v.contains(" ")
      else {
        problem("alerts.\(key)", n, "\"\(v)\" is not a URL")
        continue
      }
      if key == "dashboardURL" { a.dashboardURL = v } else { a.runbookURL = v }
    }
    if let n = map["receivers"] {
      a.receivers = list(n, "alerts.receivers") { r, n, path in r.alertReceiver(n, path) }
    }
    return a
  }

  mutating func alertReceiver(_ node: Node, _ path: String) -> AlertReceiverConfig? {
    guard let map = mapping(node, path, keys: ["kind", "url", "secretEnv"]) else { return nil }
    let kinds = AlertReceiverConfig.Kind.allCases.map(\.rawValue).joined(separator: ", ")
    guard let kn = map["kind"], let raw = string(kn, "\(path).kind") else {
      problem("\(path).kind", node, "missing (expected one of \(kinds))")
      return nil
    }
    guard let kind = AlertReceiverConfig.Kind(rawValue: raw) else {
      problem("\(path).kind", kn, "\"\(raw)\" is not a receiver kind (expected one of \(kinds))")
      return nil
    }
    guard let un = map["url"], let url = string(un, "\(path).url") else {
      problem("\(path).url", node, "missing (expected an http(s) URL)")
      return nil
    }
    guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
      problem("\(path).url", un, "\"\(url)\" is not an http(s) URL")
      return nil
    }
    let secret = map["secretEnv"].flatMap { string($0, "\(path).secretEnv") }
    if kind == .pagerduty, secret == nil {
      problem("\(path).secretEnv", node, "missing (the environment variable holding PagerDuty's routing key)")
    }
    return AlertReceiverConfig(kind: kind, url: url, secretEnv: secret)
  }

  mutating func api(_ node: Node) -> APIConfig {
    var a = APIConfig()
    guard let map = mapping(node, "api", keys: ["publicMetrics", "requireTokens", "tls", "drillReports"]) else { return a }
    if let n = map["publicMetrics"], let v = bool(n, "api.publicMetrics") { a.publicMetrics = v }
    if let n = map["drillReports"], let v = string(n, "api.drillReports") {
      if v.isEmpty { problem("api.drillReports", n, "is empty (expected the directory vigil drill run --out writes suites under)") } else {
        a.drillReports = v
      }
    }
    if let n = map["requireTokens"], let v = bool(n, "api.requireTokens") { a.requireTokens = v }
    if let n = map["tls"], let t = mapping(n, "api.tls", keys: ["certificate", "key", "clientCA"]) {
      let certificate = t["certificate"].flatMap { string($0, "api.tls.certificate") }
      let key = t["key"].flatMap { string($0, "api.tls.key") }
      let clientCA = t["clientCA"].flatMap { string($0, "api.tls.clientCA") }
      for (name, value) in [("certificate", certificate), ("key", key), ("clientCA", clientCA)] {
        if let value, !FileManager.default.isReadableFile(atPath: value) {
          problem("api.tls.\(name)", t[name] ?? n, "\"\(value)\" is not a readable file (expected a PEM file)")
        }
      }
      if let certificate, let key {
        a.tls = APITLSConfig(certificate: certificate, key: key, clientCA: clientCA)
      } else {
        problem("api.tls", n, "needs both certificate and key (PEM files; clientCA is optional)")
      }
    }
    return a
  }

  /// An etcd cluster's TLS files (`ca`, and `cert` with `key` for a client certificate), each checked.
  mutating func etcdTLS(_ n: Node, _ path: String, of whose: String) -> TLSConfig? {
    guard let m = mapping(n, path, keys: ["ca", "cert", "key"]) else { return nil }
    let ca = m["ca"].flatMap { string($0, "\(path).ca") }
    let cert = m["cert"].flatMap { string($0, "\(path).cert") }
    let key = m["key"].flatMap { string($0, "\(path).key") }
    if ca == nil { problem("\(path).ca", n, "missing (the CA file that signed \(whose)'s certificates)") }
    if (cert == nil) != (key == nil) { problem(path, n, "cert and key go together") }
    for (field, file) in [("ca", ca), ("cert", cert), ("key", key)] {
      if let file, !fileExists(file) { problem("\(path).\(field)", m[field], "file \"\(file)\" does not exist") }
    }
    return ca.map { TLSConfig(ca: $0, cert: cert, key: key) }
  }

  mutating func coordination(_ node: Node) -> CoordinationConfig? {
    guard
      let map = mapping(node, "coordination", keys: ["endpoints", "tls", "replicaID", "leaseTTL", "shards", "prefix"])
    else { return nil }
    var c = CoordinationConfig()
    if let n = map["endpoints"], let list = stringList(n, "coordination.endpoints") {
      for (i, e) in list.enumerated() {
        do { _ = try EtcdEndpoint(parsing: e) } catch { problem("coordination.endpoints[\(i)]", element(n, i), error.message) }
      }
      c.endpoints = list
    }
    if c.endpoints.isEmpty {
      problem("coordination.endpoints", map["endpoints"] ?? node, "missing (the client URLs of the management etcd the replicas share)")
    }
    if let n = map["tls"] { c.tls = etcdTLS(n, "coordination.tls", of: "the management etcd") }
    if let n = map["replicaID"], let v = string(n, "coordination.replicaID") {
      if v.isEmpty || v.count > 100 || !v.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) {
        problem("coordination.replicaID", n, "\"\(v)\" is not a replica name (letters, digits, . _ -; at most 100)")
      } else {
        c.replicaID = v
      }
    }
    if let n = map["leaseTTL"], let v = duration(n, "coordination.leaseTTL") {
      let seconds = v.duration.seconds
      if seconds < 2 || seconds > 60 || seconds != seconds.rounded() {
        problem("coordination.leaseTTL", n, "\(v) is out of range (expected whole seconds from 2s to 60s)")
      } else {
        c.leaseTTL = v
      }
    }
    if let n = map["shards"], let v = int(n, "coordination.shards", 1...4096) { c.shards = v }
    if let n = map["prefix"], let v = string(n, "coordination.prefix") {
      if v.hasPrefix("/") { c.prefix = v } else { problem("coordination.prefix", n, "\"\(v)\" must start with /") }
    }
    return c
  }

  mutating func standby(_ node: Node) -> StandbyConfig {
    var s = StandbyConfig()
    guard
      let map = mapping(
        node, "standby", keys: ["maxTxnOps", "heartbeatInterval", "revisionMargin", "leaseTTL", "drainTimeout", "endpointsFile"])
    else { return s }
    if let n = map["drainTimeout"], let v = duration(n, "standby.drainTimeout") {
      if v.duration > .seconds(60) {
        problem("standby.drainTimeout", n, "\(v) is too long (expected at most 60s: the failover waits this long)")
      } else {
        s.drainTimeout = v
      }
    }
    if let n = map["endpointsFile"], let v = string(n, "standby.endpointsFile") {
      if v.isEmpty { problem("standby.endpointsFile", n, "empty (expected a file path)") } else { s.endpointsFile = v }
    }
    if let n = map["maxTxnOps"], let v = int(n, "standby.maxTxnOps", 2...100_000) { s.maxTxnOps = v }
    if let n = map["heartbeatInterval"], let v = duration(n, "standby.heartbeatInterval") {
      if v.duration < .milliseconds(100) || v.duration > .seconds(60) {
        problem("standby.heartbeatInterval", n, "\(v) is out of range (expected 100ms to 60s)")
      } else {
        s.heartbeatInterval = v
      }
    }
    if let n = map["revisionMargin"], let v = int(n, "standby.revisionMargin", 1...100_000_000) { s.revisionMargin = v }
    if let n = map["leaseTTL"], let v = duration(n, "standby.leaseTTL") {
      if v.duration < .seconds(5) {
        problem("standby.leaseTTL", n, "\(v) is too short (expected at least 5s)")
      } else {
        s.leaseTTL = v
      }
    }
    return s
  }

  mutating func repairMode(_ node: Node, _ path: String) -> RepairMode? {
    guard let text = string(node, path) else { return nil }
    guard let mode = RepairMode(rawValue: text) else {
      problem(path, node, "unknown mode \"\(text)\" (expected \(RepairMode.allCases.map(\.rawValue).joined(separator: ", ")))")
      return nil
    }
    return mode
  }

  /// `FAULT: {runbook: NAME|none, grace: DURATION, replaceAfter: DURATION}` rows.
  mutating func policyTable(_ node: Node, _ path: String) -> [Fault: RepairRuleConfig] {
    guard case .mapping(let m) = node else {
      problem(path, node, "expected a mapping of fault to {runbook, grace, replaceAfter}")
      return [:]
    }
    var out: [Fault: RepairRuleConfig] = [:]
    for (k, v) in m {
      guard let name = k.string, let fault = Fault(rawValue: name) else {
        problem(
          "\(path).\(k.string ?? "?")", k,
          "unknown fault (expected one of \(Fault.allCases.map(\.rawValue).joined(separator: ", ")))")
        continue
      }
      let rowPath = "\(path).\(name)"
      guard let row = mapping(v, rowPath, keys: ["runbook", "grace", "replaceAfter"]) else { continue }
      let base = RepairPolicy.defaults[fault] ?? RepairRule(nil)
      var rule = RepairRuleConfig(
        runbook: base.runbook, grace: ConfigDuration(base.grace), replaceAfter: base.replaceAfter.map(ConfigDuration.init))
      if let n = row["runbook"], let text = string(n, "\(rowPath).runbook") {
        if text == "none" {
          rule.runbook = nil
        } else if let runbook = Runbook(rawValue: text) {
          rule.runbook = runbook
        } else {
          problem(
            "\(rowPath).runbook", n,
            "unknown runbook \"\(text)\" (expected none or one of \(Runbook.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
      }
      if let n = row["grace"], let d = duration(n, "\(rowPath).grace") { rule.grace = d }
      if let n = row["replaceAfter"], let d = duration(n, "\(rowPath).replaceAfter") { rule.replaceAfter = d }
      out[fault] = rule
    }
    return out
  }

  // MARK: suites, groups, clusters

  mutating func suite(_ node: Node, _ path: String) -> ProbeSuiteConfig? {
    guard let map = mapping(node, path, keys: ["name", "probes"]) else { return nil }
    guard let name = requiredName(map, node, path) else { return nil }
    let probes = map["probes"].map { list($0, "\(path).probes") { r, n, p in r.probe(n, p) } } ?? []
    if map["probes"] == nil { problem("\(path).probes", node, "missing (expected a list of probes)") }
    var seen = Set<String>()
    for (index, p) in probes.enumerated() where !seen.insert(p.name).inserted {
      problem("\(path).probes[\(index)].name", node, "\"\(p.name)\" is used twice in this suite")
    }
    return ProbeSuiteConfig(name: name, probes: probes)
  }

  mutating func probe(_ node: Node, _ path: String) -> ProbeConfig? {
    let keys = [
      "name", "kind", "interval", "timeout", "url", "address", "expectStatus", "bodyContains", "service", "command",
      "perMember", "ca", "duration", "writesPerSecond", "clients", "valueSize",
    ]
    guard let map = mapping(node, path, keys: keys) else { return nil }
    guard let kindNode = map["kind"] else {
      problem("\(path).kind", node, "missing (expected one of \(ProbeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
      return nil
    }
    guard let kindText = string(kindNode, "\(path).kind") else { return nil }
    guard let kind = ProbeKind(rawValue: kindText) else {
      problem(
        "\(path).kind", kindNode,
        "unknown probe kind \"\(kindText)\" (expected one of \(ProbeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
      return nil
    }
    let name = map["name"].flatMap { string($0, "\(path).name") } ?? kind.rawValue
    var p = ProbeConfig(name: name, kind: kind)
    if let n = map["interval"] { p.interval = duration(n, "\(path).interval") }
    if let n = map["timeout"] { p.timeout = duration(n, "\(path).timeout") }
    if let n = map["perMember"] { p.perMember = bool(n, "\(path).perMember") ?? true }
    switch kind {
    case .http:
      if let n = map["url"], let url = string(n, "\(path).url") {
        if let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil {
          p.url = url
        } else {
          problem("\(path).url", n, "\"\(url)\" is not an http(s) URL")
        }
      } else if map["url"] == nil {
        problem("\(path).url", node, "missing (an http probe needs a url)")
      }
      if let n = map["expectStatus"] { p.expectStatus = int(n, "\(path).expectStatus", 100...599) }
      if let n = map["bodyContains"] { p.bodyContains = string(n, "\(path).bodyContains") }
      if let n = map["ca"], let ca = string(n, "\(path).ca") {
        if fileExists(ca) { p.ca = ca } else { problem("\(path).ca", n, "file \"\(ca)\" does not exist") }
      }
    case .tcp, .grpcHealth:
      if let n = map["address"], let a = string(n, "\(path).address") {
        if (try? EtcdEndpoint(parsing: a)) != nil { p.address = a } else {
          problem("\(path).address", n, "\"\(a)\" is not host:port")
        }
      } else if map["address"] == nil {
        problem("\(path).address", node, "missing (a \(kind.rawValue) probe needs host:port)")
      }
      if kind == .grpcHealth, let n = map["service"] { p.service = string(n, "\(path).service") }
    case .exec:
      if let n = map["command"], let command = stringList(n, "\(path).command") {
        if command.isEmpty {
          problem("\(path).command", n, "is empty (expected the program and its arguments)")
        } else if command[0].hasPrefix("/") && !fileExists(command[0]) {
          problem("\(path).command[0]", n, "program \"\(command[0])\" does not exist")
        } else {
          p.command = command
        }
      } else if map["command"] == nil {
        problem("\(path).command", node, "missing (an exec probe needs a command)")
      }
    case .etcdPerf:
      var load = PerfLoad()
      if let n = map["duration"], let d = duration(n, "\(path).duration") {
        if d.duration > .zero && d.duration <= PerfLoad.maxDuration {
          load.duration = d.duration
        } else {
          problem("\(path).duration", n, "\(d) is out of range (expected more than 0 s and at most 60 s)")
        }
      }
      if let n = map["writesPerSecond"], let v = int(n, "\(path).writesPerSecond", 1...PerfLoad.maxWritesPerSecond) {
        load.writesPerSecond = v
      }
      if let n = map["clients"], let v = int(n, "\(path).clients", 1...PerfLoad.maxClients) { load.clients = v }
      if let n = map["valueSize"], let v = int(n, "\(path).valueSize", 1...PerfLoad.maxValueSize) { load.valueSize = v }
      p.load = load
    case .etcdKV, .etcdWatch, .etcdMember:
      break
    }
    let checked = ["url", "address", "expectStatus", "bodyContains", "service", "command", "ca", "duration", "writesPerSecond",
      "clients", "valueSize"]
    for key in checked where map[key] != nil {
      let allowed: [ProbeKind: Set<String>] = [
        .http: ["url", "expectStatus", "bodyContains", "ca"], .tcp: ["address"], .grpcHealth: ["address", "service"],
        .exec: ["command"], .etcdPerf: ["duration", "writesPerSecond", "clients", "valueSize"],
      ]
      if !(allowed[kind] ?? []).contains(key) {
        problem("\(path).\(key)", map[key], "does not apply to a \(kind.rawValue) probe")
      }
    }
    return p
  }

  mutating func group(_ node: Node, _ path: String) -> GroupConfig? {
    guard let map = mapping(node, path, keys: ["name", "probeSuites"]) else { return nil }
    guard let name = requiredName(map, node, path) else { return nil }
    var g = GroupConfig(name: name)
    if let n = map["probeSuites"] { g.probeSuites = stringList(n, "\(path).probeSuites") ?? [] }
    return g
  }

  mutating func cluster(_ node: Node, _ path: String) -> ClusterConfig? {
    let keys = [
      "name", "group", "labels", "endpoints", "tls", "auth", "runtime", "tier", "probeSuites", "drillAllowed",
      "members", "quotaBytes", "repairMode", "standby", "logs", "spec", "certificates",
    ]
    guard let map = mapping(node, path, keys: keys) else { return nil }
    // A bad name is one problem among others: the rest is still checked, and the cluster keeps its place in
    // the list so that later problems name the right index.
    var c = ClusterConfig(name: requiredName(map, node, path) ?? "")
    if let n = map["group"] { c.group = string(n, "\(path).group") }
    if let n = map["labels"] { c.labels = stringMap(n, "\(path).labels") ?? [:] }
    if let n = map["tier"], let t = string(n, "\(path).tier") { c.tier = t }
    if let n = map["probeSuites"] { c.probeSuites = stringList(n, "\(path).probeSuites") ?? [] }
    if let n = map["drillAllowed"] { c.drillAllowed = bool(n, "\(path).drillAllowed") ?? false }
    if let n = map["runtime"] { c.runtime = runtime(n, "\(path).runtime") }
    if let n = map["members"] { c.members = int(n, "\(path).members", 1...9) }
    if let n = map["repairMode"] { c.repairMode = repairMode(n, "\(path).repairMode") }
    if let n = map["standby"] { c.standby = string(n, "\(path).standby") }
    if let n = map["logs"] { c.logs = clusterLogs(n, "\(path).logs") }
    if let n = map["spec"] { c.spec = clusterSpec(n, "\(path).spec") }
    if let n = map["certificates"] { c.certificates = certificateFiles(n, "\(path).certificates") }
    if let n = map["quotaBytes"], let v = int(n, "\(path).quotaBytes", 1 << 20...(8 << 30)) { c.quotaBytes = Int64(v) }
    if let n = map["endpoints"], let list = stringList(n, "\(path).endpoints") {
      var seen: [String: Int] = [:]
      for (i, e) in list.enumerated() {
        let at = element(n, i)
        do {
          let endpoint = try EtcdEndpoint(parsing: e)
          if let first = seen[endpoint.authority] {
            problem("\(path).endpoints[\(i)]", at, "duplicate of endpoints[\(first)] (\"\(e)\"): list each member once")
          } else {
            seen[endpoint.authority] = i
          }
        } catch {
          problem("\(path).endpoints[\(i)]", at, error.message)
        }
      }
      c.endpoints = list
    }
    switch c.runtime {
    case .external, .exec:
      if c.endpoints.isEmpty {
        problem("\(path).endpoints", node, "missing (a cluster that Vigil does not run itself needs its client URLs)")
      }
    case .local: break
    }
    if case .local = c.runtime, !c.endpoints.isEmpty {
      problem("\(path).endpoints", map["endpoints"], "must be empty for a local runtime (its ports are picked at start)")
    }
    if let n = map["tls"] { c.tls = etcdTLS(n, "\(path).tls", of: "etcd") }
    if let n = map["auth"], let m = mapping(n, "\(path).auth", keys: ["user", "passwordEnv"]) {
      let user = m["user"].flatMap { string($0, "\(path).auth.user") }
      let env = m["passwordEnv"].flatMap { string($0, "\(path).auth.passwordEnv") }
      if user == nil { problem("\(path).auth.user", n, "missing") }
      if env == nil { problem("\(path).auth.passwordEnv", n, "missing (the environment variable holding the password)") }
      if let user, let env { c.auth = AuthConfig(user: user, passwordEnv: env) }
    }
    return c
  }

  mutating func runtime(_ node: Node, _ path: String) -> RuntimeConfig {
    if let kind = node.string, node.scalar != nil {
      switch kind {
      case "local": return .local(members: 3)
      case "external": return .external
      default:
        problem(path, node, "unknown runtime \"\(kind)\" (expected local, external or exec)")
        return .external
      }
    }
    let execKeys = ["start", "stop", "kill", "wipe", "provision", "restore", "dataDir", "timeout", "logs", "arguments"]
    guard let map = mapping(node, path, keys: ["kind", "members"] + execKeys) else { return .external }
    let kind = map["kind"].flatMap { string($0, "\(path).kind") } ?? "external"
    switch kind {
    case "local":
      let members = map["members"].flatMap { int($0, "\(path).members", 1...9) } ?? 3
      return .local(members: members)
    case "external":
      if map["members"] != nil { problem("\(path).members", map["members"], "applies only to a local runtime") }
      return .external
    case "exec":
      if map["members"] != nil { problem("\(path).members", map["members"], "applies only to a local runtime") }
      var commands: [String: [String]] = [:]
      for key in ["start", "stop", "kill", "wipe", "provision"] {
        guard let n = map[key] else {
          problem("\(path).\(key)", node, "missing (the command that does \(key) for one member)")
          continue
        }
        if let list = stringList(n, "\(path).\(key)") {
          if list.isEmpty { problem("\(path).\(key)", n, "is empty (expected a program and its arguments)") }
          commands[key] = list
        }
      }
      let dataDir = map["dataDir"].flatMap { string($0, "\(path).dataDir") }
      if map["dataDir"] == nil { problem("\(path).dataDir", node, "missing (each member's data dir, with {name})") }
      if let dataDir, !dataDir.contains("{name}") {
        problem("\(path).dataDir", map["dataDir"], "\"\(dataDir)\" does not contain {name}")
      }
      var exec = ExecRuntimeConfig(
        start: commands["start"] ?? [], stop: commands["stop"] ?? [], kill: commands["kill"] ?? [],
        wipe: commands["wipe"] ?? [], provision: commands["provision"] ?? [], dataDir: dataDir ?? "")
      if let n = map["restore"], let list = stringList(n, "\(path).restore") { exec.restore = list }
      if let n = map["timeout"], let d = duration(n, "\(path).timeout") { exec.timeout = d }
      if let n = map["logs"], let list = stringList(n, "\(path).logs") {
        if list.isEmpty { problem("\(path).logs", n, "is empty (expected a program and its arguments)") }
        exec.logs = list
      }
      if let n = map["arguments"], let list = stringList(n, "\(path).arguments") {
        if list.isEmpty { problem("\(path).arguments", n, "is empty (expected a program and its arguments)") }
        exec.arguments = list
      }
      return .exec(exec)
    default:
      problem("\(path).kind", map["kind"], "unknown runtime \"\(kind)\" (expected local, external or exec)")
      return .external
    }
  }

  /// `certificates: {cert: …/{name}.crt, key: …, newCert: …, newKey: …}` or with `issue: [command]`.
  mutating func certificateFiles(_ node: Node, _ path: String) -> CertificateFilesConfig? {
    let keys = ["cert", "key", "peerCert", "peerKey", "newCert", "newKey", "newPeerCert", "newPeerKey", "issue"]
    guard let map = mapping(node, path, keys: keys) else { return nil }
    var paths: [String: String] = [:]
    for key in keys where key != "issue" {
      guard let n = map[key], let value = string(n, "\(path).\(key)") else { continue }
      if value.contains("{name}") {
        paths[key] = value
      } else {
        problem("\(path).\(key)", n, "\"\(value)\" does not contain {name} (each member has its own file)")
      }
    }
    for key in ["cert", "key"] where map[key] == nil {
      problem("\(path).\(key)", node, "missing (the file each member's etcd reads)")
    }
    guard let cert = paths["cert"], let key = paths["key"] else { return nil }
    var c = CertificateFilesConfig(cert: cert, key: key)
    c.peerCert = paths["peerCert"]
    c.peerKey = paths["peerKey"]
    c.newCert = paths["newCert"]
    c.newKey = paths["newKey"]
    c.newPeerCert = paths["newPeerCert"]
    c.newPeerKey = paths["newPeerKey"]
    if let n = map["issue"], let list = stringList(n, "\(path).issue") {
      if list.isEmpty { problem("\(path).issue", n, "is empty (expected a program and its arguments)") }
      c.issue = list
    }
    if (c.peerCert == nil) != (c.peerKey == nil) {
      problem(path, node, "peerCert and peerKey go together (one of them is missing)")
    }
    if c.issue.isEmpty {
      if c.newCert == nil || c.newKey == nil {
        problem(path, node, "names neither newCert and newKey nor an issue command (where the next certificates come from)")
      }
      if c.peerCert != nil && (c.newPeerCert == nil || c.newPeerKey == nil) {
        problem(path, node, "has peerCert but no newPeerCert and newPeerKey (or an issue command)")
      }
    } else if c.newCert != nil || c.newKey != nil {
      problem("\(path).issue", map["issue"], "and newCert/newKey both name the next certificates (expected one of them)")
    }
    return c
  }

  /// `spec: {members: 3, version: "3.4", clientTLS: true, peerTLS: true, flags: {snapshot-count: 10000, …}}`.
  mutating func clusterSpec(_ node: Node, _ path: String) -> ClusterSpec? {
    guard let map = mapping(node, path, keys: ["members", "version", "clientTLS", "peerTLS", "flags"]) else { return nil }
    var spec = ClusterSpec()
    if let n = map["members"] { spec.members = int(n, "\(path).members", 1...9) }
    if let n = map["version"], let v = string(n, "\(path).version") {
      if v.split(separator: ".").allSatisfy({ Int($0) != nil }) && !v.isEmpty {
        spec.version = v
      } else {
        problem("\(path).version", n, "\"\(v)\" is not a version (expected e.g. 3.4 or 3.4.23)")
      }
    }
    if let n = map["clientTLS"] { spec.clientTLS = bool(n, "\(path).clientTLS") }
    if let n = map["peerTLS"] { spec.peerTLS = bool(n, "\(path).peerTLS") }
    if let n = map["flags"], let flags = stringMap(n, "\(path).flags") {
      let known = Set(Drift.knownFlags)
      for (flag, value) in flags.sorted(by: { $0.key < $1.key }) {
        let bare = String(flag.drop { $0 == "-" })
        if known.contains(bare) {
          spec.flags[bare] = value
        } else {
          let near = Drift.knownFlags.filter { Self.close(bare, $0) }
          problem(
            "\(path).flags.\(flag)", field(n, flag) ?? n,
            "is not an etcd 3.4 flag Vigil compares"
              + (near.isEmpty ? " (see the README's drift section)" : " (did you mean \(near.joined(separator: ", "))?)"))
        }
      }
    }
    return spec
  }

  /// `logs: {file: "/var/log/etcd/{name}.log"}` or `logs: {command: [...]}`: one of the two.
  mutating func clusterLogs(_ node: Node, _ path: String) -> ClusterLogsConfig? {
    guard let map = mapping(node, path, keys: ["file", "command"]) else { return nil }
    switch (map["file"], map["command"]) {
    case (let f?, nil):
      guard let file = string(f, "\(path).file") else { return nil }
      guard file.contains("{name}") else {
        problem("\(path).file", f, "\"\(file)\" does not contain {name} (each member's log file)")
        return nil
      }
      return .file(file)
    case (nil, let c?):
      guard let list = stringList(c, "\(path).command") else { return nil }
      guard !list.isEmpty else {
        problem("\(path).command", c, "is empty (expected a program and its arguments)")
        return nil
      }
      return .command(list)
    case (_?, _?):
      problem(path, node, "has both file and command (expected one of them)")
      return nil
    case (nil, nil):
      problem(path, node, "is empty (expected file or command)")
      return nil
    }
  }

  /// References between sections: tiers, groups and suites that must exist, unique names.
  mutating func crossCheck(_ c: inout VigilConfiguration, root: Node, clustersNode: Node?) {
    var names = Set<String>()
    for (i, cluster) in c.clusters.enumerated() {
      let path = "clusters[\(i)]"
      // Each problem at the line of the field it is about.
      let node = element(clustersNode, i)
      if !cluster.name.isEmpty, !names.insert(cluster.name).inserted {
        problem("\(path).name", field(node, "name") ?? clustersNode, "\"\(cluster.name)\" is used by another cluster")
      }
      if c.tiers[cluster.tier] == nil {
        problem(
          "\(path).tier", field(node, "tier") ?? clustersNode,
          "unknown tier \"\(cluster.tier)\" (defined: \(c.tiers.keys.sorted().joined(separator: ", ")))")
      }
      if let group = cluster.group, !c.groups.contains(where: { $0.name == group }) {
        problem("\(path).group", field(node, "group") ?? clustersNode, "unknown group \"\(group)\"")
      }
      for suite in cluster.probeSuites where !c.probeSuites.contains(where: { $0.name == suite }) {
        problem("\(path).probeSuites", field(node, "probeSuites") ?? clustersNode, "unknown probe suite \"\(suite)\"")
      }
      if let standby = cluster.standby {
        let at = field(node, "standby") ?? clustersNode
        let named = c.clusters.filter { $0.standby == standby }.count
        if standby == cluster.name {
          problem("\(path).standby", at, "\"\(standby)\" is this cluster itself (expected another cluster, in another site)")
        } else if let other = c.clusters.first(where: { $0.name == standby }) {
          if other.standby != nil {
            problem(
              "\(path).standby", at,
              "\"\(standby)\" has a standby of its own (expected a cluster that is only a standby: no chains)")
          } else if named > 1 {
            problem("\(path).standby", at, "\"\(standby)\" is the standby of \(named) clusters (expected one primary per standby)")
          } else if c.clusters.contains(where: { $0.standby == cluster.name }) {
            problem("\(path).standby", at, "this cluster is itself a standby (expected a primary: no chains)")
          }
        } else {
          problem(
            "\(path).standby", at,
            "unknown cluster \"\(standby)\" (defined: \(c.clusters.map(\.name).joined(separator: ", ")))")
        }
      }
    }
    for (i, group) in c.groups.enumerated() {
      for suite in group.probeSuites where !c.probeSuites.contains(where: { $0.name == suite }) {
        problem("groups[\(i)].probeSuites", root, "unknown probe suite \"\(suite)\"")
      }
    }
    var suiteNames = Set<String>()
    for (i, s) in c.probeSuites.enumerated() where !suiteNames.insert(s.name).inserted {
      problem("probeSuites[\(i)].name", root, "\"\(s.name)\" is used by another suite")
    }
  }

  // MARK: scalars

  /// The `index`th element of a list node (nil when it is not a list or too short).
  func element(_ node: Node?, _ index: Int) -> Node? {
    guard case .sequence(let items)? = node, index < items.count else { return nil }
    return items[items.index(items.startIndex, offsetBy: index)]
  }

  /// The value of `key` in a mapping node.
  func field(_ node: Node?, _ key: String) -> Node? {
    guard case .mapping(let m)? = node else { return nil }
    for (k, v) in m where k.string == key { return v }
    return nil
  }

  mutating func mapping(_ node: Node, _ path: String, keys: [String]) -> [String: Node]? {
    guard case .mapping(let m) = node else {
      problem(path, node, "expected a mapping with keys \(keys.joined(separator: ", "))")
      return nil
    }
    var result: [String: Node] = [:]
    for (k, v) in m {
      guard let key = k.string else {
        problem(path, k, "keys must be strings")
        continue
      }
      if keys.contains(key) {
        result[key] = v
      } else {
        let hint = keys.first { $0.lowercased() == key.lowercased() } ?? keys.first { Self.close($0, key) }
        problem(
          path.isEmpty ? key : "\(path).\(key)", k,
          "unknown key" + (hint.map { " (did you mean \($0)?)" } ?? " (expected one of \(keys.joined(separator: ", ")))"))
      }
    }
    return result
  }

  mutating func list<T>(_ node: Node, _ path: String, _ item: (inout ConfigReader, Node, String) -> T?) -> [T] {
    guard case .sequence(let s) = node else {
      problem(path, node, "expected a list")
      return []
    }
    return s.enumerated().compactMap { i, n in item(&self, n, "\(path)[\(i)]") }
  }

  mutating func requiredName(_ map: [String: Node], _ node: Node, _ path: String) -> String? {
    guard let n = map["name"] else {
      problem("\(path).name", node, "missing")
      return nil
    }
    guard let name = string(n, "\(path).name") else { return nil }
    guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
      problem("\(path).name", n, "\"\(name)\" is not a valid name (letters, digits, - _ .)")
      return nil
    }
    return name
  }

  mutating func string(_ node: Node, _ path: String) -> String? {
    guard case .scalar(let s) = node else {
      problem(path, node, "expected a text value")
      return nil
    }
    return s.string
  }

  mutating func int(_ node: Node, _ path: String, _ range: ClosedRange<Int>) -> Int? {
    number(node, path, range, kind: "a whole number")
  }

  mutating func double(_ node: Node, _ path: String, _ range: ClosedRange<Double>) -> Double? {
    number(node, path, range, kind: "a number")
  }

  private mutating func number<T: LosslessStringConvertible & Comparable>(
    _ node: Node, _ path: String, _ range: ClosedRange<T>, kind: String
  ) -> T? {
    guard case .scalar(let s) = node, let v = T(s.string) else {
      problem(path, node, "\"\(node.string ?? "?")\" is not \(kind)")
      return nil
    }
    guard range.contains(v) else {
      problem(path, node, "\(v) is out of range (expected \(range.lowerBound) to \(range.upperBound))")
      return nil
    }
    return v
  }

  mutating func bool(_ node: Node, _ path: String) -> Bool? {
    guard case .scalar(let s) = node, let v = ["true": true, "false": false][s.string.lowercased()] else {
      problem(path, node, "\"\(node.string ?? "?")\" is not true or false")
      return nil
    }
    return v
  }

  mutating func duration(_ node: Node, _ path: String) -> ConfigDuration? {
    guard case .scalar(let s) = node, let d = ConfigDuration(parsing: s.string), d.duration > .zero else {
      problem(path, node, "\"\(node.string ?? "?")\" is not a positive duration (e.g. 250ms, 2s, 1m)")
      return nil
    }
    return d
  }

  mutating func stringList(_ node: Node, _ path: String) -> [String]? {
    guard case .sequence(let s) = node else {
      problem(path, node, "expected a list of text values")
      return nil
    }
    var out: [String] = []
    for (i, n) in s.enumerated() {
      if let v = string(n, "\(path)[\(i)]") { out.append(v) }
    }
    return out
  }

  mutating func stringMap(_ node: Node, _ path: String) -> [String: String]? {
    guard case .mapping(let m) = node else {
      problem(path, node, "expected a mapping of text to text")
      return nil
    }
    var out: [String: String] = [:]
    for (k, v) in m {
      guard let key = k.string, case .scalar(let value) = v else {
        problem(path, k, "expected text keys and values")
        continue
      }
      out[key] = value.string
    }
    return out
  }

  /// A likely typo of `a`: at most one edit for short keys, two for longer
  /// ones (insertions, deletions, substitutions, swapped neighbours).
  static func close(_ a: String, _ b: String) -> Bool {
    let x = Array(a.lowercased())
    let y = Array(b.lowercased())
    let limit = max(x.count, y.count) > 5 ? 2 : 1
    guard abs(x.count - y.count) <= limit else { return false }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in stride(from: 1, through: x.count, by: 1) {
      for j in stride(from: 1, through: y.count, by: 1) {
        let cost = x[i - 1] == y[j - 1] ? 0 : 1
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
        if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
      }
    }
    return d[x.count][y.count] <= limit
  }
}
