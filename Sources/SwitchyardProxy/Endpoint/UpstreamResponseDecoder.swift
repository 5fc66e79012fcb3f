import NIOCore
import NIOHTTP1

/// Turns an HTTP/1.1 upstream's bytes into response parts with an ``UpstreamResponseParser``,
/// in place of NIO's `HTTPResponseDecoder` in a `ByteToMessageHandler`. The
/// ``UpstreamRequestEncoder`` tells it each request's method (a response to HEAD has no body);
/// it hands parts straight to the connection's ``UpstreamHandler``; it ends a response that runs until
/// the close when the upstream closes, and passes bytes that are not a response on as a
/// ``MalformedHTTP1`` error (the ``UpstreamHandler`` fails the exchange with a 502). Before
/// the end of a response after which the connection is spent it tells the handler
/// (``UpstreamHandler/spent()``: the connection is not pooled again), and after it closes the
/// connection.
final class UpstreamResponseDecoder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private var parser = UpstreamResponseParser()
    /// The connection's handler, given each part straight (no pipeline hop or boxing).
    private var handler: UpstreamHandler?

    /// Hands parts straight to `handler` from now on.
    func connect(to handler: UpstreamHandler) {
        self.handler = handler
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handler = nil
    }

    /// The head of the request the next response answers went out.
    func requestSent(_ method: HTTPMethod) {
        parser.requestSent(method)
    }

    /// Set while parts are being handed on: a read that comes in the middle only adds its
    /// bytes (see ``ClientRequestDecoder``).
    private var decoding = false
    /// Set once the channel went inactive: nothing more is handed on.
    private var closed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reader = handler  // the read ends for the handler it began for
        reader?.bytesArrived()
        defer { reader?.readEnded() }
        parser.feed(unwrapInboundIn(data))
        guard !decoding else { return }
        decoding = true
        defer { decoding = false }
        if let reader { decode(to: reader, context: context) }
        if parser.isSpent { context.close(promise: nil) }
    }

    /// Hands the parts the bytes hold to `reader`, the handler the read began for, while it is
    /// there. (Given as an argument, it is not retained again for each part.)
    private func decode(to reader: UpstreamHandler, context: ChannelHandlerContext) {
        do {
            while !closed, handler != nil, let part = try parser.next() {
                // Before the end: the exchange pools the connection as that end settles it.
                if parser.isSpent { reader.spent() }
                reader.received(part)
            }
        } catch {
            context.fireErrorCaught(error)
        }
    }

    /// The end of a read batch goes straight to the handler too.
    func channelReadComplete(context: ChannelHandlerContext) {
        if let handler { handler.readBatchComplete() } else { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if let end = parser.inputEnded() { handler?.received(end) }
        context.fireChannelInactive()
    }
}
