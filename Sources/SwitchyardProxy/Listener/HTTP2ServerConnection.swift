import NIOCore
import NIOHTTP2

/// A client's HTTP/2 connection (RFC 9113, server side), with no HTTP/2 handler before it: it
/// reads and writes the frames itself (``HTTP2FrameReader``, ``HTTP2FrameSender``), keeps the
/// streams' states and both ways' windows, and hands each of its streams
/// (``HTTP2ServerStream``) the frames that are its. There are no stream channels, no
/// HTTP/2-to-HTTP/1 codec and no pipeline hop per stream.
///
/// - It reads the client's preface and SETTINGS, sends its own
///   (``BuiltInLimits/http2ConcurrentStreams``, ``BuiltInLimits/http2HeaderListBytes``),
///   applies the client's and acknowledges them, and answers PINGs.
/// - A client stream opens with HEADERS on a new odd ID; past the concurrency limit it is
///   refused (RST_STREAM REFUSED_STREAM). Frames on a stream the client never opened, on a
///   stream that ended both ways, or after its request ended, a header block that does not
///   decode, a window past 2^31-1, and what ``HTTP2FrameReader`` refuses end the connection:
///   GOAWAY with the error's code, then close (RFC 9113 §5.4.1). Frames on a stream the proxy
///   reset a moment ago are dropped (§5.1).
/// - Floods end it with ENHANCE_YOUR_CALM: ``BuiltInLimits/http2MalformedBlocks`` malformed
///   requests, and in 30 s ``BuiltInLimits/http2ClientResets`` RST_STREAMs (rapid reset),
///   ``BuiltInLimits/http2ControlFrames`` PING, SETTINGS or PRIORITY frames and
///   ``BuiltInLimits/http2StreamErrors`` stream errors; empty DATA frames in a row; and PING or
///   SETTINGS answers the client does not read (``BuiltInLimits/http2BufferedControlFrames``).
/// - Receive windows are enforced, and given back: the connection's at the end of each read, a
///   stream's as its exchange takes the body (``HTTP2ServerStream``).
/// - It bounds the connection's life (``HTTP2ServerLifetimeStateMachine``): a graceful shutdown
///   after `timeouts.keepAlive` with no stream open, and on a drain, which the client has
///   `timeouts.keepAlive` from when the first GOAWAY reaches the socket to acknowledge. Once
///   its last stream ends it closes its output after the last bytes, and closes when the
///   client does. A stream whose ended response has waited `timeouts.keepAlive` for the
///   client's window is reset (``responseEndWaits(since:)``).
final class HTTP2ServerConnection: HTTP2ConnectionHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let slot: LoopSlot
    private(set) var context: ChannelHandlerContext?
    let streams = HTTP2StreamTable<HTTP2ServerStream>()
    /// The pipeline's flush coalescer, in front of this handler.
    let flushes: FlushCoalescer
    /// Set while a response's end is flushed at once (``flushResponseEnd()``).
    private(set) var holdsReads = false
    /// Streams whose response went back under the low watermark while this connection wrote:
    /// their exchanges hear it once the pass is over.
    private let writableAgain: EndOfPass<HTTP2ServerStream>

    var reader = HTTP2FrameReader(expectingPreface: true)
    var writer = HTTP2Writer()
    var waitingForWindow: [HTTP2ServerStream] = []
    /// The highest stream ID the client opened.
    private var lastStreamID: Int32 = 0
    var lastPeerStreamID: HTTP2StreamID { HTTP2StreamID(lastStreamID) }
    /// Streams the proxy reset lately, whose frames may still be on their way: dropped.
    private var recentlyReset = CircularBuffer<HTTP2StreamID>(initialCapacity: 8)
    /// Set once the connection closed, or is closing for an error.
    var isClosed = false

    /// Malformed requests refused on this connection (``BuiltInLimits/http2MalformedBlocks``).
    private var malformedBlocks = 0
    /// The client's RST_STREAMs (``BuiltInLimits/http2ClientResets`` in 30 s: rapid reset,
    /// CVE-2023-44487).
    private var resets = HTTP2RateLimit(limit: BuiltInLimits.http2ClientResets)
    /// The client's PINGs, SETTINGS and PRIORITYs (``BuiltInLimits/http2ControlFrames`` in 30 s).
    private var controlFrames = HTTP2RateLimit(limit: BuiltInLimits.http2ControlFrames)
    /// Streams reset or refused for the client's errors (``BuiltInLimits/http2StreamErrors`` in
    /// 30 s).
    private var streamErrors = HTTP2RateLimit(limit: BuiltInLimits.http2StreamErrors)
    /// Empty DATA frames without END_STREAM in a row.
    private var emptyDataFrames = 0

    private var lifetime: HTTP2ServerLifetimeStateMachine
    private var timer: Scheduled<Void>?
    /// `timeouts.keepAlive`: how long the client has to acknowledge a graceful shutdown's PING,
    /// and how long a stream's ended response may wait for the client's window.
    private let keepAlive: TimeAmount
    private var ackTimer: Scheduled<Void>?
    /// The one timer for streams whose ended response waits for the client's window, armed for
    /// the first of their deadlines. It is lazy: a stream whose end goes out leaves it armed,
    /// and when it fires it checks every stream and re-arms for the next; deadlines only grow,
    /// so nothing is cancelled while the connection lives (NIO's cancel searches the loop's
    /// timers).
    private var windowTimer: (timer: Scheduled<Void>, deadline: NIODeadline)?
    /// Set once the client acknowledged a graceful shutdown.
    private var acknowledged = false

    /// Streams the proxy may remember as reset a moment ago: twice as many as may be open.
    private static let rememberedResets = 2 * BuiltInLimits.http2ConcurrentStreams

    init(slot: LoopSlot, flushes: FlushCoalescer) {
        self.slot = slot
        self.flushes = flushes
        writableAgain = EndOfPass(eventLoop: slot.state.eventLoop) { $0.writableAgain() }
        keepAlive = TimeAmount(slot.state.table.config.timeouts.keepAlive)
        lifetime = HTTP2ServerLifetimeStateMachine(idle: keepAlive)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        flushes.source = self
        // Added to a connection that is already active (behind the protocol detector).
        writeFrames {
            $0.writeHTTP2Settings([
                (0x3, UInt32(BuiltInLimits.http2ConcurrentStreams)),  // SETTINGS_MAX_CONCURRENT_STREAMS
                (0x6, UInt32(BuiltInLimits.http2HeaderListBytes)),  // SETTINGS_MAX_HEADER_LIST_SIZE
            ])
        }
        flush()
        perform(lifetime.start(now: eventLoop.now))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        writer.discard()
        cancelTimers()
    }

    var eventLoop: EventLoop { slot.state.eventLoop }
    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    private(set) lazy var clientAddress = AccessLogEntry.client(context?.channel.remoteAddress)

    // MARK: Frames in

    func handle(_ frame: HTTP2InboundFrame) throws(HTTP2ConnectionError) {
        switch frame {
        case .headers(let id, let fields, let endStream):
            emptyDataFrames = 0
            if let stream = streams[id] {
                guard stream.requestOpen else { return streamError(stream, .streamClosed) }
                stream.received(fields, endStream: endStream)
                if endStream { requestEnded(stream) }
            } else if try isNew(id) {
                open(id, fields, endStream: endStream)
            }
        case .data(let id, let bytes, let endStream, let flowControlled):
            if bytes.readableBytes == 0, !endStream {
                emptyDataFrames += 1
                guard emptyDataFrames <= BuiltInLimits.http2EmptyDataFrames else { throw .init(.enhanceYourCalm, "empty DATA frames in a row") }
            } else {
                emptyDataFrames = 0
            }
            guard let stream = streams[id] else {
                guard try !isNew(id) else { throw .init(.protocolError, "DATA on stream \(Int32(id)), which is not open") }
                return
            }
            guard stream.requestOpen else { return streamError(stream, .streamClosed) }
            stream.received(bytes, endStream: endStream, flowControlled: flowControlled)
            if endStream { requestEnded(stream) }
        case .rstStream(let id, let code):
            try countReset()
            guard let stream = streams[id] else { return try closedStreamControl(id, "RST_STREAM") }
            close(stream, reason: code)
        case .settings(let payload):
            try countControlFrame()
            var all: [HTTP2ServerStream] = []
            streams.forEach { all.append($0) }
            try applySettings(payload, peerIsServer: false, streams: all)
        case .settingsAck:
            break
        case .ping(let data, let ack):
            try countControlFrame()
            if ack {
                perform(lifetime.pingAcknowledged(HTTP2PingData(withInteger: data)))
            } else {
                try answerPing(data)
            }
        case .priority:
            try countControlFrame()
        case .goAway:
            break  // the client opens nothing more; its open streams finish
        case .windowUpdate(let id, let increment):
            guard id != .rootStream else { return try connectionWindowUpdate(increment) }
            guard let stream = streams[id] else { return try closedStreamControl(id, "WINDOW_UPDATE") }
            guard increment > 0 else { return streamError(stream, .protocolError) }
            if !streamWindowUpdate(stream, increment) { streamError(stream, .flowControlError) }
        }
    }

    /// Whether `id`, on no open stream, would be a new client stream. An ID the client may not
    /// use (even) is a connection error; one of a stream that closed is too, unless the proxy
    /// reset it a moment ago (its frames may still be on their way, RFC 9113 §5.1): false then,
    /// and the frame is dropped.
    private func isNew(_ id: HTTP2StreamID) throws(HTTP2ConnectionError) -> Bool {
        let number = Int32(id)
        guard number % 2 == 1 else { throw .init(.protocolError, "stream \(number), an ID the client may not use") }
        if number > lastStreamID { return true }
        guard recentlyReset.contains(id) else { throw .init(.streamClosed, "a frame on stream \(number), which closed") }
        return false
    }

    /// A WINDOW_UPDATE or RST_STREAM on no open stream: on one that closed it is dropped (the
    /// client may send them until it has seen the stream end, RFC 9113 §5.1); on one never
    /// opened it is a connection error.
    private func closedStreamControl(_ id: HTTP2StreamID, _ frame: String) throws(HTTP2ConnectionError) {
        let number = Int32(id)
        guard number % 2 == 1, number <= lastStreamID else { throw .init(.protocolError, "\(frame) on stream \(number), which was never opened") }
    }

    /// Opens the client's stream `id` with its first field block, or refuses it past the
    /// concurrency limit or once the connection is going away.
    private func open(_ id: HTTP2StreamID, _ block: HTTP2ReceivedFields, endStream: Bool) {
        lastStreamID = Int32(id)
        guard lifetime.phase != .draining, streams.count < BuiltInLimits.http2ConcurrentStreams else {
            writeFrames { $0.writeHTTP2Reset(.refusedStream, stream: id) }
            rememberReset(id)
            countStreamError()
            return
        }
        let stream = HTTP2ServerStream(id: id, connection: self, window: writer.initialStreamWindow)
        streams[id] = stream
        lifetime.streamOpened(id)
        stream.received(block, endStream: endStream)
        if endStream { requestEnded(stream) }
    }

    /// Counts one of the client's RST_STREAMs.
    private func countReset() throws(HTTP2ConnectionError) {
        guard resets.record(now: eventLoop.now) else { throw .init(.enhanceYourCalm, "over \(resets.limit) RST_STREAMs in 30 s") }
    }

    /// Counts one of the client's PINGs, SETTINGS or PRIORITYs.
    private func countControlFrame() throws(HTTP2ConnectionError) {
        guard controlFrames.record(now: eventLoop.now) else { throw .init(.enhanceYourCalm, "over \(controlFrames.limit) PING, SETTINGS or PRIORITY frames in 30 s") }
    }

    /// The request on `stream` ended; the stream closes if its response did too.
    private func requestEnded(_ stream: HTTP2ServerStream) {
        if stream.responseEndSent { close(stream, reason: nil) }
    }

    /// A stream error the client caused (RFC 9113 §5.4.2): `stream` is reset with `code`, and
    /// the error counted (``BuiltInLimits/http2StreamErrors`` in 30 s).
    func streamError(_ stream: HTTP2ServerStream, _ code: HTTP2ErrorCode) {
        stream.reset(code)
        countStreamError()
    }

    private func countStreamError() {
        guard !streamErrors.record(now: eventLoop.now) else { return }
        fail(HTTP2ConnectionError(.enhanceYourCalm, "over \(streamErrors.limit) stream errors in 30 s"))
    }

    /// A stream was reset for a malformed request. Past the budget the client is told to
    /// calm down (GOAWAY ENHANCE_YOUR_CALM), and the connection closes.
    func malformedBlockRefused() {
        malformedBlocks += 1
        guard malformedBlocks >= BuiltInLimits.http2MalformedBlocks else { return }
        fail(HTTP2ConnectionError(.enhanceYourCalm, "\(malformedBlocks) malformed requests"))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if type(of: event) == ChannelShouldQuiesceEvent.self { perform(lifetime.quiesce()) }
        context.fireUserInboundEventTriggered(event)
    }

    /// `stream`'s exchange deferred a flush to the end of this read.
    func readTouched(_ stream: HTTP2ServerStream) {
        streams.touch(stream)
    }

    /// Inside a read of this connection (a stream's exchange defers its flushes then).
    var isReading: Bool { streams.isReading }
    /// Now: the time of the read under way (``ReadClock``), or the clock's outside one.
    func now() -> NIODeadline { streams.now(eventLoop) }

    // MARK: Frames out

    /// Sends `frame` on `stream`, within the client's windows.
    func send(_ frame: HTTP2OutboundFrame, on stream: HTTP2ServerStream) {
        guard !isClosed else { return }
        send(frame, onOpen: stream)
    }

    /// A frame of `stream` went out: the stream hears it, and closes if it ended both ways.
    func sent(_ stream: HTTP2ServerStream, bytes: Int, endStream: Bool) {
        if stream.sent(bytes: bytes, endStream: endStream) { writableAgain.add(stream) }
        if endStream, !stream.requestOpen { close(stream, reason: nil) }
    }

    /// A response ended: what was written goes now when no other stream is open (nothing else
    /// of this pass could join the flush), else with the pass's flush. Inside the connection's
    /// own read, the read's end flushes.
    func flushResponseEnd() {
        guard streams.count == 0, !streams.isReading, context != nil else { return flush() }
        // A write that fails makes NIO read what is left, then close, inside this flush: no
        // stream may open inside the exchange that is returning through here (the connection
        // is closing anyway).
        holdsReads = true
        flushes.flushNow()
        holdsReads = false
    }

    /// Writes `stream`'s RST_STREAM with `code`; it closes.
    func reset(_ stream: HTTP2ServerStream, _ code: HTTP2ErrorCode) {
        guard streams[stream.id] === stream else { return }
        writeFrames { $0.writeHTTP2Reset(code, stream: stream.id) }
        rememberReset(stream.id)
        // Closed before the flush: the flush may report the socket writable again, and what
        // that wakes must find the stream closed (no frame may follow its RST_STREAM).
        close(stream, reason: nil)
        flush()
    }

    /// Writes a WINDOW_UPDATE of `increment` for `stream` and flushes.
    func windowUpdate(_ increment: Int, stream: HTTP2StreamID) {
        writeFrames { $0.writeHTTP2WindowUpdate(increment, stream: stream) }
        flush()
    }

    private func rememberReset(_ id: HTTP2StreamID) {
        if recentlyReset.count == Self.rememberedResets { recentlyReset.removeFirst() }
        recentlyReset.append(id)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        if writable { writer.socketWritable() }
        streams.connectionWritabilityChanged(writable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        writer.discard()
        cancelTimers()
        for stream in streams.removeAll() { retire(stream) }
        context.fireChannelInactive()
    }

    /// `stream` closed: both ways ended, or a reset either way.
    private func close(_ stream: HTTP2ServerStream, reason: HTTP2ErrorCode?) {
        guard streams.remove(stream.id) != nil else { return }
        stopSending(stream)
        retire(stream)
        perform(lifetime.streamClosed(now: now()))
    }

    /// Closes `stream` and keeps it until this pass of the event loop is over.
    private func retire(_ stream: HTTP2ServerStream) {
        stream.closed()
        slot.retiredStreams.add(stream)
    }

    // MARK: Lifetime

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
            // RFC 9113 §6.8: streams the client opens before it sees this GOAWAY are still
            // served; the client has keepAlive from when it reaches the socket to say it saw it.
            guard let context else { return }
            writeFrames {
                $0.writeHTTP2GoAway(lastStreamID: HTTP2StreamID(Int32.max), code: .noError)
                $0.writeHTTP2Ping(ping.integer)
            }
            guard let frames = writer.take() else { return }
            let written = eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenSuccess { [self] in
                guard ackTimer == nil, !acknowledged, let context = self.context else { return }
                ackTimer = eventLoop.assumeIsolated().scheduleTask(in: keepAlive) { context.close(promise: nil) }
            }
            context.writeAndFlush(wrapOutboundOut(frames), promise: written)
        case .sendGoAway(let lastStreamID, let close):
            acknowledged = true
            ackTimer?.cancel()
            ackTimer = nil
            writeFrames { $0.writeHTTP2GoAway(lastStreamID: lastStreamID, code: .noError) }
            if close { closeWhenWritten() } else { flush() }
        case .close:
            closeWhenWritten()
        }
    }

    /// Ends the connection once what was written reached the socket: the output closes then,
    /// so the kernel sends every byte it holds and a FIN after them, and the client closes
    /// once it has read them (closing the socket outright would reset it, dropping what the
    /// kernel still held for a slow reader, as soon as the client sent another frame).
    /// `keepAlive` bounds a client that never closes.
    private func closeWhenWritten() {
        guard let context else { return }
        let written = eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(writer.take() ?? ByteBuffer()), promise: written)
        writer.flushed()
        let bound = eventLoop.assumeIsolated().scheduleTask(in: keepAlive) { context.close(promise: nil) }
        context.channel.closeFuture.assumeIsolated().whenComplete { _ in bound.cancel() }
        written.futureResult.assumeIsolated().whenComplete { result in
            guard case .success = result else { return context.close(promise: nil) }
            // A channel that cannot close only its output closes whole.
            let halfClosed = context.eventLoop.makePromise(of: Void.self)
            halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
            context.close(mode: .output, promise: halfClosed)
        }
    }

    private func cancelTimers() {
        timer?.cancel()
        timer = nil
        ackTimer?.cancel()
        ackTimer = nil
        windowTimer?.timer.cancel()
        windowTimer = nil
    }

    // MARK: Responses waiting for the client's window

    /// A stream's response ended at `since`, but its end waits for the client's window: the
    /// stream is reset (CANCEL) once it has waited `timeouts.keepAlive`, as an HTTP/1.1
    /// connection whose client does not read its answered response closes after `keepAlive`
    /// (DESIGN.md §13). A client that opens its window a byte at a time cannot stretch it.
    func responseEndWaits(since: NIODeadline) {
        armWindowTimer(since + keepAlive)
    }

    private func armWindowTimer(_ deadline: NIODeadline) {
        if let armed = windowTimer?.deadline, armed <= deadline { return }
        windowTimer?.timer.cancel()
        // Strong: a weak reference would give the connection a side table. Removal and close
        // cancel the timer.
        let timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            windowTimer = nil
            resetStreamsWaitingTooLong(now: eventLoop.now)
        }
        windowTimer = (timer, deadline)
    }

    private func resetStreamsWaitingTooLong(now: NIODeadline) {
        var expired: [HTTP2ServerStream] = []
        var next: NIODeadline?
        streams.forEach { stream in
            guard let since = stream.endWaitingSince else { return }
            let deadline = since + keepAlive
            if deadline <= now { expired.append(stream) } else { next = min(next ?? deadline, deadline) }
        }
        for stream in expired { stream.reset(.cancel) }
        if let next { armWindowTimer(next) }
    }
}
