import NIOCore
import NIOHTTP1

/// Turns an HTTP/1.1 upstream's bytes into response parts with an ``UpstreamResponseParser``,
/// in place of NIO's `HTTPResponseDecoder` in a `ByteToMessageHandler`. It watches the
/// request heads going out (a response to HEAD has no body), ends a response that runs until
/// the close when the upstream closes, and passes bytes that are not a response on as a
/// ``MalformedHTTP1`` error (the ``UpstreamHandler`` fails the exchange with a 502). Before
/// the end of a response after which the connection is spent it tells the handler
/// (``Spent``: the connection is not pooled again), and after it closes the connection.
final class UpstreamResponseDecoder: ChannelDuplexHandler, RemovableChannelHandler {
    /// The inbound event that comes before the end of a response after which the connection
    /// must not carry another exchange.
    struct Spent {}

    typealias InboundIn = ByteBuffer
    typealias InboundOut = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private var parser = UpstreamResponseParser()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(let head) = unwrapOutboundIn(data) { parser.requestSent(head.method) }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.feed(unwrapInboundIn(data))
        do {
            while context.channel.isActive, let part = try parser.next() {
                // Before the end: the exchange pools the connection as that end settles it.
                if parser.isSpent { context.fireUserInboundEventTriggered(Spent()) }
                context.fireChannelRead(wrapInboundOut(part))
            }
        } catch {
            context.fireErrorCaught(error)
        }
        if parser.isSpent { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let end = parser.inputEnded() { context.fireChannelRead(wrapInboundOut(end)) }
        context.fireChannelInactive()
    }
}
