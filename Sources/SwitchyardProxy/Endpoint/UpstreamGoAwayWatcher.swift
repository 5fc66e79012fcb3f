import NIOCore
import NIOHTTP2

/// Watches an upstream HTTP/2 connection for the upstream's GOAWAY (a graceful shutdown, a
/// restart): from then on no new stream may go on it, so its ``HTTP2Upstream`` stops using it
/// and the next request opens a new connection, while streams already open finish on this one.
final class UpstreamGoAwayWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    private let onGoAway: () -> Void

    init(onGoAway: @escaping () -> Void) {
        self.onGoAway = onGoAway
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .goAway = unwrapInboundIn(data).payload { onGoAway() }
        context.fireChannelRead(data)
    }
}
