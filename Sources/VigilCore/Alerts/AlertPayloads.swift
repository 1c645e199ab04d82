import Foundation

/// The bodies each kind of receiver expects (pure: the dispatcher only sends them).
public enum AlertPayloads {
  static func iso(_ t: Double) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: Date(timeIntervalSince1970: t))
  }

  static func encode(_ value: some Encodable) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(value)) ?? Data("{}".utf8)
  }

  /// Labels every receiver sees (bounded: names and ids, no error text).
  public static func labels(_ a: VigilAlert) -> [String: String] {
    var l = ["alertname": a.name, "severity": a.severity, "source": a.source]
    if let c = a.cluster { l["cluster"] = c }
    if let m = a.member { l["member"] = m }
    if let i = a.incidentID { l["incident"] = String(i) }
    return l
  }

  static func annotations(_ a: VigilAlert) -> [String: String] {
    var n = ["summary": a.summary, "description": a.description]
    if let d = a.dashboardURL { n["dashboard"] = d }
    if let r = a.runbookURL { n["runbook_url"] = r }
    return n
  }

  /// Alertmanager's `POST /api/v2/alerts`: firing alerts without `endsAt` (re-sent while they last, before
  /// Alertmanager's `resolve_timeout`), resolved ones with `endsAt` now.
  public static func alertmanager(firing: [VigilAlert], resolved: [VigilAlert], now: Double) -> Data {
    struct Posted: Encodable {
      var labels: [String: String]
      var annotations: [String: String]
      var startsAt: String
      var endsAt: String?
      var generatorURL: String?
    }
    let all =
      firing.map { Posted(labels: labels($0), annotations: annotations($0), startsAt: iso($0.startsAt), endsAt: nil, generatorURL: $0.dashboardURL) }
      + resolved.map {
        Posted(labels: labels($0), annotations: annotations($0), startsAt: iso($0.startsAt), endsAt: iso(now), generatorURL: $0.dashboardURL)
      }
    return encode(all)
  }

  /// The generic webhook: one cluster's (or Vigil's own) alerts of one status.
  public static func webhook(status: String, group: String, alerts: [VigilAlert], now: Double) -> Data {
    struct Body: Encodable {
      var status: String
      var group: String
      var sentAt: String
      var alerts: [VigilAlert]
    }
    return encode(Body(status: status, group: group, sentAt: iso(now), alerts: alerts))
  }

  /// A Slack-compatible incoming webhook: one text message.
  public static func slack(status: String, alerts: [VigilAlert]) -> Data {
    let lines = alerts.map { a in
      var line = "[\(status.uppercased())] \(a.summary)"
      if let i = a.incidentID { line += " (incident #\(i))" }
      if let d = a.dashboardURL { line += " <\(d)|dashboard>" }
      if let r = a.runbookURL { line += " <\(r)|runbook>" }
      return line
    }
    return encode(["text": lines.joined(separator: "\n")])
  }

  /// PagerDuty Events API v2: trigger or resolve, deduplicated by the incident (or the alert's key).
  public static func pagerDuty(routingKey: String, alert a: VigilAlert, resolve: Bool) -> Data {
    struct Link: Encodable {
      var href: String
      var text: String
    }
    struct Payload: Encodable {
      var summary: String
      var source: String
      var severity: String
      var custom_details: [String: String]
    }
    struct Event: Encodable {
      var routing_key: String
      var event_action: String
      var dedup_key: String
      var payload: Payload?
      var links: [Link]?
    }
    let dedup = a.incidentID.map { "vigil-incident-\($0)" } ?? "vigil-\(a.key)"
    let links = [a.dashboardURL.map { Link(href: $0, text: "dashboard") }, a.runbookURL.map { Link(href: $0, text: "runbook") }]
      .compactMap { $0 }
    return encode(
      Event(
        routing_key: routingKey, event_action: resolve ? "resolve" : "trigger", dedup_key: dedup,
        payload: resolve
          ? nil
          : Payload(
            summary: String(a.summary.prefix(1024)), source: a.cluster ?? "vigil", severity: a.severity,
            custom_details: labels(a).merging(["description": a.description]) { x, _ in x }),
        links: resolve || links.isEmpty ? nil : links))
  }
}
