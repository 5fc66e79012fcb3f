import NIOCore

/// The first handler of every accepted connection: reads until it can tell HTTP/2 with prior
/// knowledge (the client preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) from HTTP/1.x, builds
/// the matching pipeline behind itself (``ClientPipeline``), replays the bytes it read, and
/// steps aside.
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
        do {
            if http2 {
                try ClientPipeline.configureHTTP2(context.pipeline.syncOperations, slot: slot)
            } else {
                try ClientPipeline.configureHTTP1(context.pipeline.syncOperations, slot: slot)
            }
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(replay))
        // A drain that began while this connection had not named its protocol reaches the
        // handlers that now serve it.
        if slot.draining { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
