import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import VigilAPI
import VigilConfig
import VigilCore
import VigilLoops
import VigilMonitor
import VigilRepair
import VigilStore

/// Sends the alerts a person must know about to the configured receivers: every second it asks
/// ``AlertRules`` which stand, sends the new ones as firing and the ones gone as resolved (deduplicated by
/// key, grouped per cluster, at most `maxPerMinute` a receiver), re-sends firing ones to Alertmanager every
/// `resendInterval`, retries 5xx answers and timeouts with backoff, sends again at the next `resendInterval`
/// what a receiver still failed to take, and records every delivery in the audit.
///
/// Each receiver has a sender of its own, fed in order through a queue: a receiver that is slow or down
/// holds up neither the others nor the evaluation, which reports each turn to ``Liveness`` (loop `alerts`).
struct AlertDispatcher: Service {
  let config: AlertsConfig
  let monitor: Monitor
  let repairs: RepairCoordinator
  let http: HTTPClient
  let logger: Logger
  var interval: Duration = .seconds(1)
  var environment: [String: String] = ProcessInfo.processInfo.environment
  /// With several replicas: the clusters this one alerts on (their owner's); nil: every cluster.
  var owns: (@Sendable (String) async -> Bool)?

  static let loopName = "alerts"

  /// One batch for one receiver: a status, the group (a cluster, or empty for Alertmanager) and its alerts.
  struct Batch: Sendable {
    var status: String
    var group: String
    var alerts: [VigilAlert]
  }

  /// What a receiver's sender could not deliver (or the rate limit held back): firing alerts by key,
  /// resolved ones whole, sent again at the next `resendInterval`.
  final class Undelivered: Sendable {
    private let state = Mutex<(firing: Set<String>, resolved: [String: VigilAlert])>(([], [:]))

    func record(_ batch: Batch, delivered: Bool) {
      state.withLock { u in
        for a in batch.alerts {
          if batch.status == "resolved" {
            u.resolved[a.key] = delivered ? nil : a
          } else if delivered {
            u.firing.remove(a.key)
          } else {
            u.firing.insert(a.key)
          }
        }
      }
    }

    /// Everything recorded so far, forgotten here (what fails again is recorded again).
    func take() -> (firing: Set<String>, resolved: [VigilAlert]) {
      state.withLock { u in
        defer { u = ([], [:]) }
        return (u.firing, Array(u.resolved.values))
      }
    }
  }

  func run() async throws {
    let queues = config.receivers.map { _ in AsyncStream<Batch>.makeStream(bufferingPolicy: .bufferingNewest(10_000)) }
    let undelivered = config.receivers.map { _ in Undelivered() }
    // A turn may wait on the store: the same allowance as the history writer's.
    monitor.liveness.register(Self.loopName, period: interval + .seconds(6))
    defer { monitor.liveness.remove(Self.loopName) }
    await withTaskGroup(of: Void.self) { group in
      for (i, receiver) in config.receivers.enumerated() {
        group.addTask {
          for await batch in queues[i].stream {
            await deliver(receiver, batch, undelivered: undelivered[i])
          }
        }
      }
      try? await cancelWhenGracefulShutdown {
        await loop(queues: queues.map(\.continuation), undelivered: undelivered)
      }
      // Stopping: what is still queued is not sent (a restarted Vigil fires what still stands again).
      for q in queues { q.continuation.finish() }
      group.cancelAll()
    }
  }

  private func loop(queues: [AsyncStream<Batch>.Continuation], undelivered: [Undelivered]) async {
    var active: [VigilAlert] = []
    var lastResend = Date().timeIntervalSince1970
    var sent: [Int: [Double]] = [:]  // receiver index → send times in the last minute
    while !Task.isCancelled {
      let now = Date().timeIntervalSince1970
      let current = await standing(now: now)
      var (firing, resolved) = AlertRules.changes(from: active, to: current)
      if owns != nil {
        // A cluster handed to another replica: its alerts are that replica's now, not resolved.
        let present = Set(current.compactMap(\.cluster))
        var mine: [String: Bool] = [:]
        for c in Set(resolved.compactMap(\.cluster)) where !present.contains(c) { mine[c] = await owns?(c) ?? true }
        resolved.removeAll { a in a.cluster.map { mine[$0] == false } ?? false }
      }
      active = current
      let resend = now - lastResend >= config.resendInterval.duration.seconds
      if resend { lastResend = now }
      for (i, receiver) in config.receivers.enumerated() {
        var fire = firing
        var gone = resolved
        if resend {
          let missed = undelivered[i].take()
          let standing = Set(current.map(\.key))
          if receiver.kind == .alertmanager {
            fire = current  // Alertmanager forgets alerts not re-sent within its resolve_timeout
          } else {
            let new = Set(firing.map(\.key))
            fire += current.filter { missed.firing.contains($0.key) && !new.contains($0.key) }
          }
          let goneKeys = Set(gone.map(\.key))
          gone += missed.resolved.filter { !standing.contains($0.key) && !goneKeys.contains($0.key) }
        }
        var batches: [Batch] = []
        if receiver.kind == .alertmanager {
          // Alertmanager groups by itself: one post with every change.
          batches = [Batch(status: "firing", group: "", alerts: fire), Batch(status: "resolved", group: "", alerts: gone)]
        } else {
          for (status, alerts) in [("firing", fire), ("resolved", gone)] {
            for (group, items) in Dictionary(grouping: alerts, by: { $0.cluster ?? "vigil" }).sorted(by: { $0.key < $1.key }) {
              batches.append(Batch(status: status, group: group, alerts: items))
            }
          }
        }
        for batch in batches where !batch.alerts.isEmpty {
          sent[i, default: []].removeAll { now - $0 > 60 }
          guard sent[i, default: []].count < config.maxPerMinute else {
            await audit(receiver, batch.alerts, status: batch.status, result: "dropped", why: "rate limit of \(config.maxPerMinute)/min")
            undelivered[i].record(batch, delivered: false)
            continue
          }
          sent[i, default: []].append(now)
          queues[i].yield(batch)
        }
      }
      monitor.liveness.turned(Self.loopName)
      try? await Task.sleep(for: interval)
    }
  }

  /// The alerts that stand now, from the monitor's status, the coordinator's escalations and the journal.
  func standing(now: Double) async -> [VigilAlert] {
    let status = await monitor.status()
    let escalated = await repairs.escalations
    let store = monitor.store
    var inputs: [ClusterAlertInput] = []
    for c in status.clusters {
      if let owns, await !owns(c.name) { continue }  // another replica's cluster: it alerts on it
      var input = ClusterAlertInput(name: c.name, findings: c.findings)
      input.incidents = c.openIncidents.map {
        ClusterAlertInput.OpenIncident(id: $0.id, member: $0.member, fault: $0.fault, since: $0.detectedAt ?? $0.openedAt)
      }
      // The reasons are in the audit, read only for a cluster with escalations.
      let audit = escalated.contains { $0.hasPrefix(c.name + "/") } ? (try? await store.audit(cluster: c.name, limit: 200)) ?? [] : []
      for key in escalated where key.hasPrefix(c.name + "/") {
        // The newest escalation of that member (or of the cluster): its reason.
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let subject = parts.count > 2 && !parts[1].isEmpty ? "\(c.name)/\(parts[1])" : c.name
        let escalations = audit.filter { $0.action == "escalated" || $0.action == "refused" }
        let entry = escalations.first { $0.subject == subject } ?? escalations.first
        input.escalations.append((key, entry?.reason ?? "see the audit log", entry?.at ?? now))
      }
      let recent = (try? await store.plans(cluster: c.name, states: [.failed, .abandoned], limit: 20)) ?? []
      for p in recent where now - (p.finishedAt ?? p.createdAt) < 900 {
        let why = p.steps.last { $0.state == .failed }?.detail ?? p.outcome ?? p.state.rawValue
        input.failedPlans.append((p.id, p.runbook, p.state, p.finishedAt ?? p.createdAt, why))
      }
      let lost = c.diagnoses.first { $0.member == nil && ($0.fault == .quorumLost || $0.fault == .noLeader) }
      input.quorumLost = lost != nil
      input.quorumSince = c.openIncidents.first { $0.member == nil }?.detectedAt
      inputs.append(input)
    }
    let stalled = monitor.liveness.stalled().map { (loop: $0.loop, silentSeconds: $0.ageSeconds) }
    return AlertRules.alerts(
      clusters: inputs, stalledLoops: stalled, now: now,
      links: AlertRules.Links(dashboard: config.dashboardURL, runbook: config.runbookURL))
  }

  private func deliver(_ receiver: AlertReceiverConfig, _ batch: Batch, undelivered: Undelivered) async {
    let (status, group, alerts) = (batch.status, batch.group, batch.alerts)
    let now = Date().timeIntervalSince1970
    var requests: [(url: String, body: Data, headers: [(String, String)])] = []
    switch receiver.kind {
    case .alertmanager:
      let base = receiver.url.hasSuffix("/") ? String(receiver.url.dropLast()) : receiver.url
      let body =
        status == "resolved"
        ? AlertPayloads.alertmanager(firing: [], resolved: alerts, now: now)
        : AlertPayloads.alertmanager(firing: alerts, resolved: [], now: now)
      requests.append((base + "/api/v2/alerts", body, []))
    case .webhook:
      let body = AlertPayloads.webhook(status: status, group: group, alerts: alerts, now: now)
      var headers: [(String, String)] = []
      if let name = receiver.secretEnv, let secret = environment[name], !secret.isEmpty {
        headers.append(("X-Vigil-Signature", "sha256=" + Self.signature(body, secret: secret)))
      }
      requests.append((receiver.url, body, headers))
    case .slack:
      requests.append((receiver.url, AlertPayloads.slack(status: status, alerts: alerts), []))
    case .pagerduty:
      let key = receiver.secretEnv.flatMap { environment[$0] } ?? ""
      for a in alerts {
        requests.append((receiver.url, AlertPayloads.pagerDuty(routingKey: key, alert: a, resolve: status == "resolved"), []))
      }
    }
    var delivered = true
    for r in requests {
      let result = await post(r.url, body: r.body, headers: r.headers)
      delivered = delivered && result.ok
      await audit(receiver, alerts, status: status, result: result.ok ? "sent" : "failed", why: result.detail)
    }
    undelivered.record(batch, delivered: delivered)
  }

  /// HMAC-SHA256 of the body with the secret, lower-case hex (the `X-Vigil-Signature: sha256=…` header).
  static func signature(_ body: Data, secret: String) -> String {
    HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }
      .joined()
  }

  /// Posts, retrying a 5xx answer or a failure to connect or answer (1 s, 2 s, then 4 s apart).
  private func post(_ url: String, body: Data, headers: [(String, String)]) async -> (ok: Bool, detail: String) {
    var detail = ""
    for attempt in 0..<4 {
      if attempt > 0 { try? await Task.sleep(for: .seconds(1 << (attempt - 1))) }
      var request = HTTPClientRequest(url: url)
      request.method = .POST
      request.headers.add(name: "Content-Type", value: "application/json")
      for (name, value) in headers { request.headers.add(name: name, value: value) }
      request.body = .bytes(ByteBuffer(bytes: body))
      do {
        let response = try await http.execute(request, timeout: .seconds(5))
        _ = try? await response.body.collect(upTo: 1 << 20)
        let code = Int(response.status.code)
        if (200..<300).contains(code) { return (true, "HTTP \(code)") }
        detail = "HTTP \(code)"
        if code < 500 { return (false, detail) }  // the receiver refused it: sending again changes nothing
      } catch {
        detail = "\(error)".prefix(200).description
      }
      if Task.isCancelled { break }
    }
    return (false, detail + " after 4 tries")
  }

  private func audit(_ receiver: AlertReceiverConfig, _ alerts: [VigilAlert], status: String, result: String, why: String) async {
    let host = URL(string: receiver.url)?.host ?? receiver.url
    let entry = AuditEntry(
      at: Date().timeIntervalSince1970, actor: "vigil", action: "alert-\(result)",
      cluster: alerts.first?.cluster ?? "vigil", incidentID: alerts.first?.incidentID,
      inputs: "\(receiver.kind.rawValue) \(host)", result: "\(status): \(alerts.map(\.name).joined(separator: ", "))",
      reason: why)
    do { _ = try await monitor.store.append(audit: entry) } catch {
      logger.error("cannot record an alert delivery", metadata: ["error": "\(error)"])
    }
    if result != "sent" {
      logger.warning(
        "alert not delivered", metadata: ["receiver": "\(receiver.kind.rawValue) \(host)", "result": "\(result)", "why": "\(why)"])
    }
  }
}
