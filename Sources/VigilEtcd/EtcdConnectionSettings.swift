import NIOCore
import NIOHTTP2

/// How Vigil's HTTP/2 connection to one etcd member is set up.
///
/// etcd's gRPC server (grpc-go) sends a flow-control (BDP) PING with most
/// responses on a lightly loaded connection. swift-nio-http2's default DoS
/// heuristics allow 200 PING/SETTINGS frames per 30 s and then close the
/// connection, which is why the stock grpc-swift transport loses etcd after
/// about 200 calls. etcd is a trusted peer, so these limits are sized for it.
public struct EtcdConnectionSettings: Sendable, Hashable {
  /// How long a TCP (and TLS) connect may take.
  public var connectTimeout: TimeAmount = .seconds(2)
  /// Inbound control frames (PING, SETTINGS…) allowed per `controlFrameWindow`.
  public var maximumControlFrames: Int = 1_000_000
  public var controlFrameWindow: TimeAmount = .seconds(1)
  /// Stream resets and stream errors tolerated per second (timeouts and
  /// cancelled watches reset streams legitimately).
  public var maximumStreamResets: Int = 1_000_000
  /// Protocol "glitches" tolerated before the connection is closed.
  public var maximumGlitches: Int = 1_000_000
  /// Connection and stream flow-control windows: large, so snapshots and big
  /// ranges stream without waiting on WINDOW_UPDATEs.
  public var connectionWindowSize: Int = 16 << 20
  public var streamWindowSize: Int = 4 << 20
  /// How often call deadlines are checked (a call times out at most this late).
  public var deadlineResolution: TimeAmount = .milliseconds(20)
  /// Largest message Vigil accepts from etcd.
  public var maximumMessageSize: Int = 64 << 20

  public init() {}

  var http2Connection: NIOHTTP2Handler.ConnectionConfiguration {
    var c = NIOHTTP2Handler.ConnectionConfiguration()
    c.initialSettings = [
      HTTP2Setting(parameter: .maxConcurrentStreams, value: 1 << 16),
      HTTP2Setting(parameter: .initialWindowSize, value: streamWindowSize),
      HTTP2Setting(parameter: .maxFrameSize, value: 1 << 20),
      HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 20),
    ]
    c.targetWindowSize = connectionWindowSize
    c.controlFrameRateLimit.maximumCount = maximumControlFrames
    c.controlFrameRateLimit.windowLength = controlFrameWindow
    c.maximumConnectionGlitches = maximumGlitches
    c.maximumBufferedControlFrames = 100_000
    c.maximumRecentlyResetStreams = 1_024
    return c
  }

  var http2Stream: NIOHTTP2Handler.StreamConfiguration {
    var s = NIOHTTP2Handler.StreamConfiguration()
    s.targetWindowSize = streamWindowSize
    s.outboundBufferSizeHighWatermark = 1 << 20
    s.outboundBufferSizeLowWatermark = 1 << 19
    s.streamResetFrameRateLimit.maximumCount = maximumStreamResets
    s.streamResetFrameRateLimit.windowLength = .seconds(1)
    s.streamErrorRateLimit.maximumCount = maximumStreamResets
    s.streamErrorRateLimit.windowLength = .seconds(1)
    return s
  }
}
