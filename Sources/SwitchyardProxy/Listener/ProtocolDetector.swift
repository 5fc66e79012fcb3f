import NIOCore
import NIOHTTP1
import NIOHTTP2

/// The first handler of every accepted connection: reads until it can tell HTTP/2 with prior
/// knowledge (the client preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) from HTTP/1.x, builds
/// the matching pipeline behind itself, replays the bytes it read, and steps aside.
final class ProtocolDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private let slot: LoopSlot
    private var buffered: ByteBuffer?
    /// Closes a connection that has not said which protocol it speaks within
    /// `timeouts.requestHeader`.
    private var timer: Scheduled<Void>?

    init(slot: LoopSlot) {
        self.slot = slot
    }

    func channelActive(context: ChannelHandlerContext) {
        // A drain that began before the connection was active has set the shorter bound already.
        if timer == nil {
            let limit = TimeAmount(slot.state.table.config.timeouts.requestHeader)
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: limit) { context.close(promise: nil) }
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A drain: a connection that has sent nothing yet gets a moment for the request its
        // client may be writing right now, then closes.
        if event is ChannelShouldQuiesceEvent {
            timer?.cancel()
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: BuiltInLimits.drainIdle) { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var buffered {
            buffered.writeBuffer(&bytes)
            bytes = buffered
        }
        let seen = bytes.readableBytesView.prefix(Self.preface.count)
        guard seen.elementsEqual(Self.preface.prefix(seen.count)) else {
            switchTo(http2: false, context: context, replay: bytes)
            return
        }
        if seen.count < Self.preface.count {
            buffered = bytes
        } else {
            switchTo(http2: true, context: context, replay: bytes)
        }
    }

    private func switchTo(http2: Bool, context: ChannelHandlerContext, replay: ByteBuffer) {
        buffered = nil
        let slot = NIOLoopBound(self.slot, eventLoop: context.eventLoop)
        do {
            let pipeline = context.pipeline.syncOperations
            if http2 {
                let timeouts = slot.value.state.table.config.timeouts
                // Idle connections close with a graceful GOAWAY; a drain's ChannelShouldQuiesceEvent
                // starts the same double GOAWAY (RFC 9113 §6.8).
                let manager = NIOHTTP2ServerConnectionManagementHandler(
                    eventLoop: context.eventLoop,
                    configuration: .init(maxIdleTime: TimeAmount(timeouts.keepAlive), maxAge: nil, maxGraceTime: nil, keepalive: nil))
                let handler = NIOHTTP2Handler(
                    mode: .server, eventLoop: context.eventLoop, connectionConfiguration: BuiltInLimits.http2Connection, streamConfiguration: .init(),
                    streamDelegate: manager.http2StreamDelegate
                ) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                        try stream.pipeline.syncOperations.addHandler(ProxyServerHandler(slot: slot.value, timeouts: nil))
                    }
                }
                try pipeline.addHandler(GoAwayCloser(isClient: false, ackTimeout: TimeAmount(timeouts.keepAlive)))
                try pipeline.addHandler(handler)
                try pipeline.addHandler(manager)
                // The manager starts its idle timer on channelActive, which has passed already.
                manager.channelActive(context: try pipeline.context(handler: manager))
            } else {
                // Pipelining is ordered by ProxyServerHandler itself: NIO's assistant stops reading
                // during every response, which costs two epoll_ctl calls per request.
                let timeouts = ClientTimeoutHandler(timeouts: slot.value.state.table.config.timeouts)
                try pipeline.addHandler(timeouts)
                try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                try pipeline.addHandler(ProxyServerHandler(slot: slot.value, timeouts: timeouts))
            }
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(replay))
        // A drain that began while this connection had not named its protocol reaches the
        // handlers that now serve it.
        if slot.value.draining { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
