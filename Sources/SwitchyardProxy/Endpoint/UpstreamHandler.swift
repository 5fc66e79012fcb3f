import NIOCore
import NIOHTTP1

/// The last handler of an upstream HTTP/1.1 connection, and the connection as its pool holds
/// it: hands response parts to the exchange that leased it, and holds reads while the client
/// cannot take more (backpressure).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamStream {
    typealias InboundIn = UpstreamResponsePart
    typealias OutboundIn = RequestPart
    typealias OutboundOut = RequestPart

    /// The exchange using the channel now; nil while it idles in a pool.
    var exchange: Exchange?
    /// When it went back to its pool.
    var idleSince = NIODeadline.uptimeNanoseconds(0)
    /// The time of the upstream read under way: a response's parts read together share it.
    private var clock = ReadClock()
    /// Set once it went back to its pool: every exchange after the first is on a connection
    /// that waited there.
    private var wasPooled = false
    /// Set when bytes came from the upstream for the exchange using it.
    private var heardBack = false
    /// Whether it waited in its pool and nothing came back on it since: its peer may have
    /// closed it idle as the request went out (``UpstreamStream``).
    var unanswered: UnansweredRequest { wasPooled && !heardBack ? .likelyNotProcessed : .mayHaveProcessed }
    /// Called once when the channel closes (the pool forgets it).
    var onClose: (() -> Void)?
    private var context: ChannelHandlerContext?
    /// The connection's encoder, given each part straight (no pipeline hop or boxing); nil in
    /// tests that read the parts from the pipeline. A constant, so a write does not retain it
    /// (the decoder and the encoder break the references between the three handlers as they
    /// leave the pipeline).
    private let encoder: UpstreamRequestEncoder?
    private var readsHeld = false
    private var readPending = false
    /// True while a request part is being written: an error raised then (the encoder's
    /// ``UnsendableHead``) is the proxy's request that could not be sent, not the upstream's fault.
    private var writing = false
    /// False once the decoder found the connection spent: it is never pooled again.
    private(set) var isReusable = true

    init(encoder: UpstreamRequestEncoder? = nil) {
        self.encoder = encoder
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received(unwrapInboundIn(data))
    }

    /// A response part: straight from the connection's ``UpstreamResponseDecoder`` (no pipeline
    /// hop or boxing), or from the pipeline in tests without it.
    func received(_ part: UpstreamResponsePart) {
        if let exchange, context != nil {
            exchange.upstreamResponse(part, now: clock.now(exchange.eventLoop))
        } else if case .head = part {
            // A response nobody asked for: the connection is out of step; drop it.
            context?.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readBatchComplete()
    }

    /// The read batch ended: from the pipeline, or straight from the ``UpstreamResponseDecoder``.
    func readBatchComplete() {
        exchange?.upstreamReadComplete()
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

    /// Bytes came from the upstream (the decoder tells it before it parses them): the parts
    /// they hold share one time until ``readEnded()``.
    func bytesArrived() {
        heardBack = true
        clock.readBegan()
    }

    /// The decoder handed on everything the read held.
    func readEnded() {
        clock.readEnded()
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
            askRead(context)
        }
    }

    /// Stops or resumes reading from the upstream.
    func holdReads(_ hold: Bool) {
        readsHeld = hold
        if !hold, readPending, let context {
            readPending = false
            askRead(context)
        }
    }

    /// Asks for the next read from the encoder's place in the pipeline when there is one: the
    /// one handler between them would only pass it on.
    private func askRead(_ context: ChannelHandlerContext) {
        if let encoderContext = encoder?.context { encoderContext.read() } else { context.read() }
    }

    // MARK: UpstreamStream

    var isHTTP1: Bool { true }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    /// Whether the connection is still open.
    var isActive: Bool { context?.channel.isActive ?? false }

    /// Writes a request part (flushing when asked). Failures surface as errors and closes on
    /// the channel.
    func write(_ part: RequestPart, flush: Bool) {
        guard context != nil else { return }
        writing = true
        if let encoder {
            encoder.write(part, promise: nil)
            if flush { encoder.flush() }
        } else if let context {
            context.write(wrapOutboundOut(part), promise: nil)
            if flush { context.flush() }
        }
        writing = false
    }

    /// Flushes request parts written so far.
    func flush() {
        if let encoder { encoder.flush() } else { context?.flush() }
    }

    func abandon() {
        close()
    }

    /// Closes the connection.
    func close() {
        context?.close(promise: nil)
    }

    /// Back to the pool when the exchange was clean, its request whole and the connection
    /// still reusable; closed otherwise (what is left of either message would be the next
    /// exchange's).
    func exchangeEnded(clean: Bool, requestEnded: Bool, endpoint: EndpointRuntime, now: NIODeadline) {
        exchange = nil
        holdReads(false)
        if clean, requestEnded, isReusable {
            wasPooled = true
            heardBack = false
            endpoint.release(self, now: now)
        } else {
            close()
        }
    }
}
