import NIOCore
import NIOHTTP2

/// The last handler of a client's HTTP/2 connection. It owns the connection's streams
/// (``HTTP2ServerStream``) and hands each the frames NIO's HTTP/2 handler passed it. NIO's
/// handler before it parses, checks the protocol and limits, and keeps the streams' states and
/// the send windows. There are no stream channels, no HTTP/2-to-HTTP/1 codec and no pipeline
/// hop per stream.
///
/// It gives back receive window itself, as NIO's stream channels did: the connection's at
/// once, and each stream's as its exchange takes the body (``HTTP2ServerStream``). As NIO's
/// frame delegate it learns when each DATA frame goes to the wire, which is what a stream's
/// writability counts. It also bounds the connection's life
/// (``HTTP2ServerLifetimeStateMachine``): a graceful shutdown after `timeouts.keepAlive` with no
/// stream open, and on a drain.
final class HTTP2ServerConnection: HTTP2StreamOwner, NIOHTTP2FrameDelegate {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    let slot: LoopSlot
    private(set) var context: ChannelHandlerContext?
    let streams = HTTP2StreamTable<HTTP2ServerStream>()
    /// Streams that closed in this pass of the event loop. Their exchange may still be
    /// returning through them (a response's end closes its stream while it is being written),
    /// so they are kept until the pass is over.
    private let retired: EndOfPass<HTTP2ServerStream>
    /// Streams whose response went back under the low watermark inside NIO's frame delegate:
    /// their exchanges hear it once the pass is over.
    private let writableAgain: EndOfPass<HTTP2ServerStream>

    /// Malformed field blocks refused on this connection (``BuiltInLimits/http2MalformedBlocks``).
    private var malformedBlocks = 0
    private var lifetime: HTTP2ServerLifetimeStateMachine
    private var timer: Scheduled<Void>?
    /// Beneath NIO's handler: writes a graceful shutdown's first GOAWAY, which NIO's handler
    /// must not see (``GoAwayCloser``).
    private let goAwayCloser: GoAwayCloser

    init(slot: LoopSlot, goAwayCloser: GoAwayCloser) {
        self.slot = slot
        self.goAwayCloser = goAwayCloser
        retired = EndOfPass(eventLoop: slot.state.eventLoop) { _ in }
        writableAgain = EndOfPass(eventLoop: slot.state.eventLoop) { $0.writableAgain() }
        lifetime = HTTP2ServerLifetimeStateMachine(idle: TimeAmount(slot.state.table.config.timeouts.keepAlive))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Added to a connection that is already active (behind the protocol detector).
        perform(lifetime.start(now: eventLoop.now))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        timer = nil
    }

    var eventLoop: EventLoop { slot.state.eventLoop }
    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    private(set) lazy var clientAddress = AccessLogEntry.client(context?.channel.remoteAddress)

    // MARK: Frames in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        streams.readBegan()
        switch frame.payload {
        case .headers(let headers):
            if let stream = streams[frame.streamID] {
                stream.received(headers)
            } else {
                // NIO's handler opened the stream (a new client stream within the limits).
                let stream = HTTP2ServerStream(id: frame.streamID, connection: self)
                streams[frame.streamID] = stream
                lifetime.streamOpened(frame.streamID)
                stream.received(headers)
            }
        case .data(let data):
            streams[frame.streamID]?.received(data)
        case .ping(let data, ack: true):
            perform(lifetime.pingAcknowledged(data))
        default:
            break  // NIO's handler answers the connection's own frames; a reset arrives as an event
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !streamEvent(event), type(of: event) == ChannelShouldQuiesceEvent.self { perform(lifetime.quiesce()) }
        context.fireUserInboundEventTriggered(event)
    }

    /// A stream was reset for a malformed field block. Past the budget the client is told to
    /// calm down (GOAWAY ENHANCE_YOUR_CALM), and ``GoAwayCloser`` closes the connection.
    func malformedBlockRefused() {
        malformedBlocks += 1
        guard malformedBlocks == BuiltInLimits.http2MalformedBlocks else { return }
        write(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lifetime.lastStreamID, errorCode: .enhanceYourCalm, opaqueData: nil)))
        flush()
    }

    /// `stream`'s exchange deferred a flush to the end of this read.
    func readTouched(_ stream: HTTP2ServerStream) {
        streams.touch(stream)
    }

    /// Inside a read of this connection (a stream's exchange defers its flushes then).
    var isReading: Bool { streams.isReading }

    func streamClosed(_ stream: HTTP2ServerStream, reason: HTTP2ErrorCode?) {
        retire(stream)
        perform(lifetime.streamClosed(now: eventLoop.now))
    }

    /// A response frame this connection wrote could not be sent (NIO refused it): its stream
    /// is reset. Errors that end the connection are NIO's handler's to answer (GOAWAY, close).
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? NIOHTTP2Errors.StreamError { streams[error.streamID]?.reset(.internalError) }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        for stream in streams.removeAll() { retire(stream) }
        context.fireChannelInactive()
    }

    private func perform(_ action: HTTP2ServerLifetimeStateMachine.Action) {
        switch action {
        case .none:
            break
        case .arm(let deadline):
            timer?.cancel()
            // Strong: a weak reference would give the connection a side table, and every
            // retain of it the slow path. Removal and close cancel the timer.
            timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                self.timer = nil
                self.perform(self.lifetime.timerFired(now: self.eventLoop.now))
            }
        case .sendGoAwayAndPing(let ping):
            // RFC 9113 §6.8: streams the client opens before it sees this GOAWAY are still served,
            // so NIO's handler, which would refuse them, does not hear of it.
            goAwayCloser.writeFirstGracefulGoAway()
            write(HTTP2Frame(streamID: .rootStream, payload: .ping(ping, ack: false)))
            flush()
        case .sendGoAway(let lastStreamID, let close):
            goAwayCloser.gracefulShutdownAcknowledged()
            write(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil)))
            flush()
            if close { context?.close(promise: nil) }
        case .close:
            // The stream closed as its last frame was written; that frame's flush comes later
            // in this pass of the event loop, so the close waits for the next.
            eventLoop.assumeIsolated().execute { [self] in context?.close(promise: nil) }
        }
    }

    /// Closes `stream` and keeps it until this pass of the event loop is over.
    private func retire(_ stream: HTTP2ServerStream) {
        stream.closed()
        retired.add(stream)
    }

    // MARK: Frames out

    /// NIO's handler passes `frame` to the wire (``NIOHTTP2FrameDelegate``). Nothing may be
    /// written from here: NIO calls it in the middle of writing the frame, just before its bytes.
    func wroteFrame(_ frame: HTTP2Frame) {
        guard case .data(let data) = frame.payload, let stream = streams[frame.streamID], stream.wrote(data.data.readableBytes) else { return }
        writableAgain.add(stream)
    }
}
