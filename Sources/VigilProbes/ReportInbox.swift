import Foundation
import NIOConcurrencyHelpers
import VigilCore

/// A result an `exec` probe program POSTed to its report URL
/// (`VIGIL_REPORT_URL`), for programs written for Vigil:
///
/// ```json
/// {"status": "OK", "message": "3 nodes ready", "metrics": {"ready_nodes": 3},
///  "steps": [{"name": "list", "seconds": 0.012, "ok": true}]}
/// ```
///
/// `status` is one of OK, WARNING, CRITICAL, UNKNOWN; the rest is optional.
public struct ProbeReport: Sendable, Hashable {
  public var status: ProbeStatus
  public var message: String
  public var metrics: [String: Double]
  public var steps: [ProbeStep]

  /// Decodes and checks a report; the error names the field and what was expected.
  public static func decode(_ data: Data) throws(ProbeReportError) -> ProbeReport {
    let parsed: JSONValue
    do { parsed = try JSONValue.parse(data) } catch {
      throw ProbeReportError(message: "the body is not JSON (expected {\"status\": \"OK\", \"message\": \"…\"})")
    }
    guard let root = parsed.object else { throw ProbeReportError(message: "the body must be a JSON object") }
    let known: Set<String> = ["status", "message", "metrics", "steps"]
    if let unknown = root.keys.sorted().first(where: { !known.contains($0) }) {
      throw ProbeReportError(message: "unknown field \"\(unknown)\" (expected status, message, metrics, steps)")
    }
    guard let statusText = root["status"]?.string else {
      throw ProbeReportError(message: "status: missing or not text (expected OK, WARNING, CRITICAL or UNKNOWN)")
    }
    guard let status = ProbeStatus(rawValue: statusText.uppercased()) else {
      throw ProbeReportError(message: "status: \"\(statusText)\" is not OK, WARNING, CRITICAL or UNKNOWN")
    }
    var report = ProbeReport(status: status, message: "", metrics: [:], steps: [])
    if let m = root["message"] {
      guard let text = m.string else { throw ProbeReportError(message: "message: expected text") }
      report.message = text
    }
    if let m = root["metrics"] {
      guard let map = m.object else { throw ProbeReportError(message: "metrics: expected an object of name to number") }
      for (k, v) in map {
        guard let n = v.number else { throw ProbeReportError(message: "metrics.\(k): \(v) is not a number") }
        report.metrics[k] = n
      }
    }
    if let s = root["steps"] {
      guard let list = s.array else { throw ProbeReportError(message: "steps: expected a list of {name, seconds, ok}") }
      for (i, step) in list.enumerated() {
        guard let name = step["name"]?.string else { throw ProbeReportError(message: "steps[\(i)].name: expected text") }
        // A day at most: a step's latency, not an age (and a Duration holds it).
        guard let seconds = step["seconds"]?.number, seconds >= 0, seconds <= 86_400 else {
          throw ProbeReportError(
            message: "steps[\(i)].seconds: \(step["seconds"].map { "\($0)" } ?? "missing") is not a number from 0 to 86400")
        }
        let ok: Bool
        switch step["ok"] {
        case nil: ok = true
        case .bool(let b)?: ok = b
        case let other?: throw ProbeReportError(message: "steps[\(i)].ok: \(other) is not true or false")
        }
        report.steps.append(ProbeStep(name: name, latency: .seconds(seconds), succeeded: ok))
      }
    }
    return report
  }
}

public struct ProbeReportError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}

/// Where `exec` probes' reports arrive: each run gets a one-time token and
/// URL; the HTTP server hands posted bodies to ``deliver(token:_:)``.
public final class ReportInbox: Sendable {
  private let base: NIOLockedValueBox<String>
  private let slots = NIOLockedValueBox<[String: ProbeReport?]>([:])

  /// - Parameter baseURL: e.g. `http://127.0.0.1:9464/v1/reports/`.
  public init(baseURL: String) {
    base = NIOLockedValueBox(baseURL.hasSuffix("/") ? baseURL : baseURL + "/")
  }

  /// Where reports go; set again once the server knows its real port.
  public var baseURL: String {
    get { base.withLockedValue { $0 } }
    set { base.withLockedValue { $0 = newValue.hasSuffix("/") ? newValue : newValue + "/" } }
  }

  /// Opens a slot for one run.
  func open() -> (token: String, url: String) {
    let token = UUID().uuidString.lowercased()
    slots.withLockedValue { $0[token] = .some(nil) }
    return (token, base.withLockedValue { $0 } + token)
  }

  /// Closes the slot and returns what was posted to it, if anything.
  func close(_ token: String) -> ProbeReport? {
    slots.withLockedValue { $0.removeValue(forKey: token) ?? nil }
  }

  public enum DeliveryError: Error, Sendable, Equatable {
    /// No run is waiting on this token (it finished, or never existed).
    case unknownToken
    case invalid(String)
  }

  /// Stores a posted report for its run.
  public func deliver(token: String, _ body: Data) throws(DeliveryError) {
    let report: ProbeReport
    do { report = try ProbeReport.decode(body) } catch { throw .invalid(error.message) }
    let accepted = slots.withLockedValue { slots in
      guard slots[token] != nil else { return false }
      slots[token] = .some(report)
      return true
    }
    if !accepted { throw .unknownToken }
  }
}
