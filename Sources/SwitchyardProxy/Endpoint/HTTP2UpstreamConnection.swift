import NIOCore
import NIOHTTP2

/// An upstream HTTP/2 connection (RFC 9113, client side), with no HTTP/2 handler before it:
/// it reads and writes the frames itself (``HTTP2FrameReader``, ``HTTP2FrameSender``),
/// keeps the streams' states and both ways' windows, and hands each of its streams
/// (``HTTP2UpstreamStream``) the frames that are its. It tells its ``HTTP2Upstream`` when the
/// upstream says GOAWAY and when streams finish.
///
/// - It sends the preface and its SETTINGS (push off, ``BuiltInLimits/http2ConcurrentStreams``,
///   ``BuiltInLimits/http2HeaderListBytes``) once active; the upstream's first frame must be
///   its SETTINGS. It applies the upstream's SETTINGS (HPACK table size, concurrency, initial
///   window, frame size) and acknowledges them, and answers PINGs.
/// - A stream opens (takes the next odd ID) when its HEADERS go out; past the upstream's
///   SETTINGS_MAX_CONCURRENT_STREAMS it waits, in order, for a stream to close. DATA beyond the
///   stream's or the connection's send window waits for WINDOW_UPDATE (``HTTP2SendQueue``).
/// - Receive windows are enforced, and given back: the connection's at the end of each read, a
///   stream's as its exchange takes the bytes (``HTTP2StreamReceiveWindow``).
/// - A stream closes when both ways ended, or a reset either way. Frames on a stream it closed
///   are dropped; frames on a stream it never opened, a header block that does not decode, a
///   window past 2^31-1, and what ``HTTP2FrameReader`` refuses end the connection: GOAWAY with
///   the error's code, then close. So does an upstream that keeps sending PINGs or SETTINGS
///   while not reading their answers (``BuiltInLimits/http2BufferedControlFrames``), or more
///   than ``BuiltInLimits/http2ControlFrames`` of them in 30 s.
/// - Every frame written in a pass goes out in one buffer, with the flush
///   (``HTTP2FrameSender``).
final class HTTP2UpstreamConnection: HTTP2ConnectionHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Told when the upstream says GOAWAY and when a stream finishes. Strong (a weak reference
    /// would put every retain of the owner on the slow path): the owner lets go of this
    /// connection when its channel closes.
    var owner: HTTP2Upstream?
    private(set) var context: ChannelHandlerContext?
    let streams = HTTP2StreamTable<HTTP2UpstreamStream>()
    /// Streams made and not yet finished (closed, or given up before they opened).
    private(set) var liveStreams = 0
    private var nextStreamID: Int32 = 1
    /// Set once the connection closed (or is closing for an error): a stream that opens now
    /// closes at once.
    var isClosed = false
    /// The upstream opens no streams (push is off).
    let lastPeerStreamID = HTTP2StreamID.rootStream
    /// The last stream ID the upstream's GOAWAY said it will serve: a stream that opens now
    /// closes at once (it never reached the upstream).
    private var goAwayLastStreamID: HTTP2StreamID?
    private let eventLoop: EventLoop
    /// The pipeline's coalescer: it takes the frames as it flushes.
    let flushes: FlushCoalescer
    /// Streams whose request went back under the low watermark while this connection wrote:
    /// their exchanges hear it once the pass is over.
    private let writableAgain: EndOfPass<HTTP2UpstreamStream>

    var reader = HTTP2FrameReader()
    var writer = HTTP2Writer()
    var waitingForWindow: [HTTP2UpstreamStream] = []
    /// Streams whose HEADERS went out and that have not closed.
    private var openStreams = 0
    /// Streams whose HEADERS wait for the upstream's concurrency limit, in order.
    private var waitingToOpen = CircularBuffer<HTTP2UpstreamStream>()
    /// The upstream's PINGs, SETTINGS and PRIORITYs (``BuiltInLimits/http2ControlFrames`` in
    /// 30 s, as a client's).
    private var controlFrames = HTTP2RateLimit(limit: BuiltInLimits.http2ControlFrames)

    /// Past this stream ID the connection takes no new stream (IDs may not be reused): the
    /// next request opens a new connection.
    private static let lastStreamID: Int32 = 1 << 30

    init(eventLoop: EventLoop, flushes: FlushCoalescer) {
        self.eventLoop = eventLoop
        self.flushes = flushes
        writableAgain = EndOfPass(eventLoop: eventLoop) { $0.writableAgain() }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        flushes.source = self
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        writer.discard()
        onActive = nil
    }

    /// Called once the connection is active and its preface written.
    private var onActive: (() -> Void)?
    private var isActive = false

    /// Runs `body` once the connection is active (now, if it is).
    func whenActive(_ body: @escaping () -> Void) {
        if isActive { body() } else { onActive = body }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start(context: context)
    }

    /// Writes the preface and the proxy's SETTINGS; streams may open from now on.
    private func start(context: ChannelHandlerContext) {
        guard !isActive else { return }
        isActive = true
        var preface = ByteBuffer.http2ClientPreface
        preface.writeHTTP2Settings([
            (0x2, 0),  // SETTINGS_ENABLE_PUSH
            (0x3, UInt32(BuiltInLimits.http2ConcurrentStreams)),  // SETTINGS_MAX_CONCURRENT_STREAMS
            (0x6, UInt32(BuiltInLimits.http2HeaderListBytes)),  // SETTINGS_MAX_HEADER_LIST_SIZE
        ])
        context.writeAndFlush(wrapOutboundOut(preface), promise: nil)
        let body = onActive
        onActive = nil
        body?()
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }
    /// Now: the time of the read under way (``ReadClock``), or the clock's outside one.
    func now() -> NIODeadline { streams.now(eventLoop) }
    /// Whether a stream would still open on it: it has not closed, and the upstream has not
    /// said GOAWAY.
    var opensStreams: Bool { !isClosed && goAwayLastStreamID == nil }

    /// Whether a new stream may go on it.
    var acceptsStreams: Bool { nextStreamID < Self.lastStreamID && isActive && opensStreams }

    /// A stream for one request; it opens with its HEADERS.
    func makeStream() -> HTTP2UpstreamStream {
        liveStreams += 1
        return HTTP2UpstreamStream(connection: self, window: writer.initialStreamWindow)
    }

    // MARK: Frames out

    /// Sends `frame` on `stream`: now, or once the stream may open and its windows allow,
    /// behind what waits already. A stream whose connection closed or said GOAWAY before it
    /// opened closes in a moment, unprocessed (its request may go again).
    func send(_ frame: HTTP2OutboundFrame, on stream: HTTP2UpstreamStream) {
        guard stream.id != nil || open(stream) else {
            guard opensStreams, nextStreamID < Self.lastStreamID else {
                if !stream.isClosed {
                    eventLoop.assumeIsolated().execute { self.close(stream, reason: nil, unserved: true) }
                }
                return
            }
            // Its HEADERS, the first frame, make it wait for the upstream's concurrency limit.
            if stream.queue.isEmpty { waitingToOpen.append(stream) }
            stream.queue.append(frame)
            return
        }
        send(frame, onOpen: stream)
    }

    /// Opens `stream` now, giving it the next stream ID, when no stream waits before it and
    /// the upstream's concurrency limit allows.
    private func open(_ stream: HTTP2UpstreamStream) -> Bool {
        guard waitingToOpen.isEmpty, mayOpen else { return false }
        assignID(stream)
        return true
    }

    /// Whether a stream may open now: the upstream's concurrency limit allows, and it neither
    /// closed nor said GOAWAY, and IDs are left.
    private var mayOpen: Bool { openStreams < writer.maxConcurrentStreams && opensStreams && nextStreamID < Self.lastStreamID }

    private func assignID(_ stream: HTTP2UpstreamStream) {
        let id = HTTP2StreamID(nextStreamID)
        nextStreamID += 2
        stream.id = id
        streams[id] = stream
        openStreams += 1
    }

    /// Opens the streams waiting for the upstream's concurrency limit, in order, while it
    /// allows. Once the connection has no IDs left they close unserved (they go on another).
    private func openWaiting() {
        while mayOpen, let stream = waitingToOpen.popFirst() {
            assignID(stream)
            pump(stream)
        }
        if nextStreamID >= Self.lastStreamID {
            while let stream = waitingToOpen.popFirst() { close(stream, reason: nil, unserved: true) }
        }
    }

    /// A frame of `stream` went out (`bytes` of DATA; `endStream`: the request's end).
    func sent(_ stream: HTTP2UpstreamStream, bytes: Int, endStream: Bool) {
        if stream.wrote(bytes: bytes, endStream: endStream) { writableAgain.add(stream) }
        if endStream, stream.responseEnded { close(stream, reason: nil) }
    }

    /// `stream` resets itself with `code`: its RST_STREAM is written, and the connection lets
    /// it go (the stream closes itself). A stream that never opened is only let go.
    func reset(_ stream: HTTP2UpstreamStream, _ code: HTTP2ErrorCode) {
        guard let id = stream.id else { return forget(stream) }
        // Out of the table already, it is being closed by a GOAWAY or the connection's close,
        // from whose loop this call came: it is finished here, and that close skips it.
        if streams.remove(id) != nil {
            writeFrames { $0.writeHTTP2Reset(code, stream: id) }
            openStreams -= 1
        }
        stopSending(stream)
        finished()
        openWaiting()
        flush()
    }

    /// A stream error the upstream caused (RFC 9113 §5.4.2): `stream` is reset with `code`
    /// and closes, its response lost.
    private func streamError(_ stream: HTTP2UpstreamStream, _ code: HTTP2ErrorCode) {
        guard let id = stream.id else { return }
        writeFrames { $0.writeHTTP2Reset(code, stream: id) }
        close(stream, reason: code)
    }

    /// `stream` was given up before it opened.
    func forget(_ stream: HTTP2UpstreamStream) {
        if let index = waitingToOpen.firstIndex(where: { $0 === stream }) { waitingToOpen.remove(at: index) }
        stopSending(stream)
        finished()
    }

    /// Writes a WINDOW_UPDATE of `increment` for `stream` and flushes.
    func windowUpdate(_ increment: Int, stream: HTTP2StreamID) {
        writeFrames { $0.writeHTTP2WindowUpdate(increment, stream: stream) }
        flush()
    }

    private func finished() {
        liveStreams -= 1
        owner?.streamFinished(on: self)
    }

    // MARK: Frames in

    func handle(_ frame: HTTP2InboundFrame) throws(HTTP2ConnectionError) {
        switch frame {
        case .headers(let id, let fields, let endStream):
            guard let stream = try openStream(id) else { return }
            guard !stream.responseEnded else { return streamError(stream, .streamClosed) }
            stream.received(fields, endStream: endStream)
            if endStream { responseEnded(stream) }
        case .data(let id, let bytes, let endStream, let flowControlled):
            guard let stream = try openStream(id) else { return }
            guard !stream.responseEnded else { return streamError(stream, .streamClosed) }
            stream.received(bytes, endStream: endStream, flowControlled: flowControlled)
            if endStream { responseEnded(stream) }
        case .rstStream(let id, let code):
            guard let stream = try openStream(id) else { return }
            close(stream, reason: code)
        case .settings(let payload):
            try countControlFrame()
            var all: [HTTP2UpstreamStream] = Array(waitingToOpen)
            streams.forEach { all.append($0) }
            try applySettings(payload, peerIsServer: true, streams: all)
            openWaiting()
        case .settingsAck:
            break
        case .priority:
            try countControlFrame()
        case .ping(let data, let ack):
            try countControlFrame()
            if !ack { try answerPing(data) }
        case .goAway(let lastStreamID, _):
            goAwayLastStreamID = lastStreamID
            // Streams past its last ID, and streams still waiting to open, never reached the
            // upstream: these close now.
            for stream in streams.remove(where: { id, _ in id > lastStreamID }) {
                openStreams -= 1
                close(stream, reason: nil, unserved: true)
            }
            while let stream = waitingToOpen.popFirst() { close(stream, reason: nil, unserved: true) }
            owner?.peerSaidGoAway(self)
        case .windowUpdate(let id, let increment):
            guard id != .rootStream else { return try connectionWindowUpdate(increment) }
            guard let stream = try openStream(id) else { return }
            guard increment > 0 else { return streamError(stream, .protocolError) }
            if !streamWindowUpdate(stream, increment) { streamError(stream, .flowControlError) }
        }
    }

    /// Counts one of the upstream's PINGs, SETTINGS or PRIORITYs.
    private func countControlFrame() throws(HTTP2ConnectionError) {
        guard controlFrames.record(now: eventLoop.now) else { throw .init(.enhanceYourCalm, "over \(controlFrames.limit) PING, SETTINGS or PRIORITY frames in 30 s") }
    }

    /// The open stream `id` names; nil for one this connection closed (its frames are
    /// dropped). A stream the proxy never opened is a connection error (RFC 9113 §5.1): even
    /// IDs are the upstream's, which may open none (push is off).
    private func openStream(_ id: HTTP2StreamID) throws(HTTP2ConnectionError) -> HTTP2UpstreamStream? {
        if let stream = streams[id] { return stream }
        let number = Int32(id)
        guard number % 2 == 1, number < nextStreamID else { throw .init(.protocolError, "a frame on stream \(number), which the proxy did not open") }
        return nil
    }

    /// The response on `stream` ended; the stream closes if its request did too.
    private func responseEnded(_ stream: HTTP2UpstreamStream) {
        if stream.requestEndSent { close(stream, reason: nil) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        if writable { writer.socketWritable() }
        streams.connectionWritabilityChanged(writable)
        for stream in waitingToOpen { stream.connectionWritabilityChanged(writable) }
        context.fireChannelWritabilityChanged()
    }

    /// `stream`'s exchange deferred a flush to the end of this read.
    func readTouched(_ stream: HTTP2UpstreamStream) {
        streams.touch(stream)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        writer.discard()
        for stream in streams.removeAll() { close(stream, reason: nil, unserved: !stream.isOnWire) }
        openStreams = 0
        while let stream = waitingToOpen.popFirst() { close(stream, reason: nil, unserved: true) }
        context.fireChannelInactive()
    }

    /// `stream` closed (its exchange, which holds it, may still drain what it holds);
    /// `unserved`: the upstream did not process it.
    private func close(_ stream: HTTP2UpstreamStream, reason: HTTP2ErrorCode?, unserved: Bool = false) {
        guard !stream.isClosed else { return }
        if let id = stream.id, streams.remove(id) != nil {
            openStreams -= 1
            openWaiting()
        }
        stopSending(stream)
        stream.closed(reason: reason, unserved: unserved)
        finished()
    }
}
