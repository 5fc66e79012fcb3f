import NIOCore
import NIOHTTP1

/// One upstream request channel: a pooled HTTP/1.1 connection, or one HTTP/2 stream.
final class UpstreamConnection {
    let channel: Channel
    let handler: UpstreamHandler
    /// Whether it may carry another request after this one (HTTP/1.1 keep-alive).
    let isPooled: Bool
    /// When it went back to its pool (set by the pool; HTTP/2 streams never idle).
    var idleSince = NIODeadline.uptimeNanoseconds(0)

    init(channel: Channel, handler: UpstreamHandler, isPooled: Bool) {
        self.channel = channel
        self.handler = handler
        self.isPooled = isPooled
    }
}

/// The last handler of an upstream channel: hands response parts to the exchange that leased
/// the channel, and holds reads while the client cannot take more (backpressure).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// The exchange using the channel now; nil while it idles in a pool.
    var exchange: Exchange?
    /// Called once when the channel closes (the pool forgets it).
    var onClose: (() -> Void)?
    private var context: ChannelHandlerContext?
    /// The HTTP/1.1 connection's encoder, given each part straight (no pipeline hop or
    /// boxing); nil on an HTTP/2 stream, whose parts go down the pipeline.
    private var encoder: UpstreamRequestEncoder?
    private var readsHeld = false
    private var readPending = false
    /// True while a request part is being written: an error raised then (NIO's outbound
    /// header validation) is the proxy's request that could not be sent, not the upstream's fault.
    private var writing = false
    /// False once the decoder found the connection spent: it is never pooled again.
    private(set) var isReusable = true

    init(encoder: UpstreamRequestEncoder? = nil) {
        self.encoder = encoder
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        encoder = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received(unwrapInboundIn(data))
    }

    /// A response part: from the pipeline (an HTTP/2 stream's codec), or straight from the
    /// connection's ``UpstreamResponseDecoder`` over HTTP/1.1 (no pipeline hop or boxing).
    func received(_ part: HTTPClientResponsePart) {
        if let exchange {
            exchange.upstreamResponse(part)
        } else if case .head = part {
            // A response nobody asked for: the connection is out of step; drop it.
            context?.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let exchange = self.exchange
        self.exchange = nil
        onClose?()
        onClose = nil
        exchange?.upstreamClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if writing {
            exchange?.requestUnsendable(error)
        } else {
            exchange?.upstreamError(error)
        }
        context.close(promise: nil)
    }

    /// The decoder found the connection spent: after the response that is ending it carries no
    /// other exchange.
    func spent() {
        isReusable = false
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if readsHeld {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Stops or resumes reading from the upstream.
    func holdReads(_ hold: Bool) {
        readsHeld = hold
        if !hold, readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// Writes a request part (flushing when asked); `promise`, when given, hears when it
    /// reached the socket (without one, failures surface as errors and closes on the channel).
    func write(_ part: HTTPClientRequestPart, flush: Bool, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        writing = true
        if let encoder {
            encoder.write(part, promise: promise)
            if flush { encoder.flush() }
        } else {
            context.write(wrapOutboundOut(part), promise: promise)
            if flush { context.flush() }
        }
        writing = false
    }

    /// Flushes request parts written so far.
    func flush() {
        if let encoder { encoder.flush() } else { context?.flush() }
    }
}
