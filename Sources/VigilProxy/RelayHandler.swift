import NIOCore

/// One half of a relayed TCP connection: what this channel reads is written to its partner; when the partner
/// cannot take more, this side stops reading (back-pressure); when either side closes, both do.
final class RelayHandler: ChannelDuplexHandler, @unchecked Sendable {
  typealias InboundIn = ByteBuffer
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  /// Set once, on the channel's event loop, before reading starts (both channels read nothing until then).
  private var partner: (any Channel)?

  func link(_ partner: any Channel) { self.partner = partner }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    partner?.write(self.unwrapInboundIn(data), promise: nil)
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    partner?.flush()
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    // This side's writes are the partner's reads: pause the partner while they back up.
    let writable = context.channel.isWritable
    partner?.setOption(ChannelOptions.autoRead, value: writable).whenFailure { _ in }
    context.fireChannelWritabilityChanged()
  }

  func channelInactive(context: ChannelHandlerContext) {
    partner?.close(promise: nil)
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}
