import Testing
import VigilCore

@Suite("Failure detector")
struct FailureDetectorTests {
  func transitions(_ directives: [DetectorDirective]) -> [HealthState] {
    directives.compactMap { if case .transition(let t) = $0 { t.to } else { nil } }
  }

  @Test func firstSuccessMakesATargetHealthy() {
    var d = FailureDetector()
    #expect(d.state == .unknown)
    #expect(transitions(d.observe(.success(.milliseconds(5)))) == [.healthy])
    #expect(d.state == .healthy)
  }

  @Test func failedNeedsConsecutiveFailuresAndAFailedConfirmation() {
    var d = FailureDetector()
    _ = d.observe(.success(.milliseconds(5)))
    let first = d.observe(.failure(.refused, after: .milliseconds(1)))
    #expect(transitions(first) == [.suspect])
    #expect(!first.contains(.confirm))
    let second = d.observe(.failure(.refused, after: .milliseconds(1)))
    #expect(second == [.confirm])
    #expect(d.state == .suspect)
    // A periodic result racing the confirmation does not decide anything.
    #expect(d.observe(.failure(.refused, after: .milliseconds(1))).isEmpty)
    let confirmed = d.observe(.failure(.refused, after: .milliseconds(1), confirmation: true))
    #expect(transitions(confirmed) == [.failed])
    #expect(d.state == .failed)
  }

  @Test func aSuccessfulConfirmationKeepsItFromFailing() {
    var d = FailureDetector()
    _ = d.observe(.success(.milliseconds(5)))
    _ = d.observe(.failure(.timeout, after: .seconds(1)))
    #expect(d.observe(.failure(.timeout, after: .seconds(1))) == [.confirm])
    #expect(d.observe(ProbeObservation(succeeded: true, latency: .milliseconds(5), isConfirmation: true)).isEmpty)
    #expect(d.state == .suspect)
    #expect(!d.awaitingConfirmation)
    #expect(transitions(d.observe(.success(.milliseconds(5)))) == [.healthy])
  }

  @Test func alternatingResultsDoNotFlap() {
    var d = FailureDetector()
    _ = d.observe(.success(.milliseconds(5)))
    var changes = 0
    for i in 0..<100 {
      let o: ProbeObservation = i % 2 == 0 ? .failure(.timeout, after: .seconds(1)) : .success(.milliseconds(5))
      changes += transitions(d.observe(o)).count
    }
    // It goes suspect once and never reaches failed or bounces back and forth each probe.
    #expect(d.state == .suspect)
    #expect(changes == 1)
  }

  @Test func recoveryNeedsConsecutiveSuccesses() {
    var settings = DetectorSettings()
    settings.successesToRecover = 3
    var d = FailureDetector(settings: settings)
    _ = d.observe(.success(.milliseconds(5)))
    _ = d.observe(.failure(.refused, after: .zero))
    _ = d.observe(.failure(.refused, after: .zero))
    _ = d.observe(.failure(.refused, after: .zero, confirmation: true))
    #expect(d.state == .failed)
    #expect(d.observe(.success(.milliseconds(5))).isEmpty)
    #expect(d.observe(.success(.milliseconds(5))).isEmpty)
    let back = d.observe(.success(.milliseconds(5)))
    #expect(transitions(back) == [.healthy])
    guard case .transition(let t)? = back.first else { return }
    #expect(t.from == .failed)
    #expect(t.evidence.last?.contains("succeeded") == true)
  }

  @Test func slowSuccessesAboveTheAdaptiveThresholdCountAsBad() {
    var settings = DetectorSettings()
    settings.latencyFloor = .milliseconds(20)
    var d = FailureDetector(settings: settings)
    for i in 0..<40 { _ = d.observe(.success(.milliseconds(5 + Int64(i % 3)))) }
    #expect(d.state == .healthy)
    #expect(d.baseline.threshold == .milliseconds(20))  // steady target: the floor holds
    let slow = d.observe(.success(.milliseconds(400)))
    #expect(transitions(slow) == [.suspect])
    guard case .transition(let t)? = slow.first else { return }
    #expect(t.evidence.last?.contains("above the 20 ms threshold") == true)
  }

  @Test func aSlowColdStartIsNotSuspect() {
    var d = FailureDetector()
    // The first probes connect and grant a lease: slow, but nothing is wrong.
    #expect(transitions(d.observe(.success(.seconds(2)))) == [.healthy])
    #expect(d.observe(.success(.seconds(1))).isEmpty)
    #expect(d.state == .healthy)
  }

  @Test func evidenceNamesTheFailure() {
    var d = FailureDetector()
    _ = d.observe(.success(.milliseconds(5)))
    let out = d.observe(.failure(.refused, after: .milliseconds(2), detail: "connection refused"))
    guard case .transition(let t)? = out.first else {
      Issue.record("no transition")
      return
    }
    #expect(t.from == .healthy && t.to == .suspect)
    #expect(t.evidence.last == "probe failed (refused) after 2.00 ms: connection refused")
  }
}

@Suite("Latency baseline")
struct LatencyBaselineTests {
  @Test func thresholdIsMeanPlusKSigmaAboveTheFloor() {
    var b = LatencyBaseline(capacity: 10, k: 2, floor: .milliseconds(1), minimumSamples: 2)
    for ms in [10, 20, 10, 20] { b.add(.milliseconds(Int64(ms))) }
    // mean 15 ms, sample σ ≈ 5.77 ms → 15 + 2·5.77 ≈ 26.5 ms
    #expect(abs(b.threshold.seconds - 0.02655) < 0.0002)
  }

  @Test func windowForgetsOldSamples() {
    var b = LatencyBaseline(capacity: 4, k: 0, floor: .zero, minimumSamples: 2)
    for _ in 0..<4 { b.add(.milliseconds(100)) }
    for _ in 0..<4 { b.add(.milliseconds(10)) }
    #expect(b.count == 4)
    #expect(abs(b.mean - 0.010) < 1e-9)
  }

  @Test func fewSamplesUseTheFloorOnly() {
    var b = LatencyBaseline(capacity: 8, k: 4, floor: .milliseconds(250), minimumSamples: 8)
    b.add(.milliseconds(1))
    #expect(b.threshold == .milliseconds(250))
  }
}
