import GRPCCore
import NIOConcurrencyHelpers

/// One endpoint of a client: its HTTP/2 connection, and the gRPC client that
/// carries streaming calls on it.
final class EndpointSlot: Sendable {
  let connection: HTTP2Connection
  let grpc: GRPCClient<EtcdTransport>

  init(_ connection: HTTP2Connection) {
    self.connection = connection
    self.grpc = GRPCClient(transport: EtcdTransport(connection: connection))
  }

  var endpoint: EtcdEndpoint { connection.endpoint }
}

/// The endpoints a client and its views call, and which one calls try
/// first. A client that follows its cluster's membership replaces the whole
/// set; calls in flight keep the snapshot they started with.
final class EndpointSet: Sendable {
  private struct State {
    var slots: [EndpointSlot]
    var preferred = 0
  }
  private let state: NIOLockedValueBox<State>

  init(_ slots: [EndpointSlot]) {
    precondition(!slots.isEmpty, "a client needs at least one endpoint")
    state = NIOLockedValueBox(State(slots: slots))
  }

  /// The slots and the position calls start at, read together.
  var snapshot: (slots: [EndpointSlot], preferred: Int) {
    state.withLockedValue { ($0.slots, $0.preferred) }
  }

  var preferredSlot: EndpointSlot { state.withLockedValue { $0.slots[$0.preferred] } }

  var count: Int { state.withLockedValue { $0.slots.count } }

  /// Calls start at `slot` from now on (if it is still in the set).
  func prefer(_ slot: EndpointSlot) {
    state.withLockedValue { s in
      if let i = s.slots.firstIndex(where: { $0 === slot }) { s.preferred = i }
    }
  }

  /// If calls start at `slot`, they start at the next endpoint from now on.
  func advance(from slot: EndpointSlot) {
    state.withLockedValue { s in
      guard s.slots.count > 1, s.slots[s.preferred] === slot else { return }
      s.preferred = (s.preferred + 1) % s.slots.count
    }
  }

  /// Replaces the slots, keeping the preferred endpoint when it stays.
  /// - Returns: the slots no longer in the set.
  func replace(with slots: [EndpointSlot]) -> [EndpointSlot] {
    precondition(!slots.isEmpty, "a client needs at least one endpoint")
    return state.withLockedValue { s in
      let current = s.slots[s.preferred]
      let removed = s.slots.filter { old in !slots.contains { $0 === old } }
      s.slots = slots
      s.preferred = slots.firstIndex { $0 === current } ?? 0
      return removed
    }
  }
}
