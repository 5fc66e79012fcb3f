import NIOCore
import NIOHTTP2

/// The last handler of an upstream HTTP/2 connection. It owns the connection's streams
/// (``HTTP2UpstreamStream``), hands each the frames NIO's HTTP/2 handler passed it, and tells
/// its ``HTTP2Upstream`` when the upstream says GOAWAY and when streams finish. NIO's handler
/// before it parses, checks the protocol and limits (a stream beyond the upstream's
/// concurrency waits there), and keeps the streams' states and send windows.
///
/// As on the listener (``HTTP2ServerConnection``) it gives back receive window itself, and
/// learns as NIO's frame delegate when each frame goes to the wire.
final class HTTP2UpstreamConnection: HTTP2StreamOwner, NIOHTTP2FrameDelegate {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// Told when the upstream says GOAWAY and when a stream finishes. Strong (a weak reference
    /// would put every retain of the owner on the slow path): the owner lets go of this
    /// connection when its channel closes.
    var owner: HTTP2Upstream?
    private(set) var context: ChannelHandlerContext?
    let streams = HTTP2StreamTable<HTTP2UpstreamStream>()
    /// Streams made and not yet finished (closed, or given up before they opened).
    private(set) var liveStreams = 0
    private var nextStreamID: Int32 = 1
    /// Set once the connection closed: a stream that opens now closes at once.
    private var isClosed = false
    /// The last stream ID the upstream's GOAWAY said it will serve: a stream that opens now
    /// closes at once (it never reached the upstream).
    private var goAwayLastStreamID: HTTP2StreamID?
    private let eventLoop: EventLoop
    /// Streams whose request went back under the low watermark inside NIO's frame delegate:
    /// their exchanges hear it once the pass is over.
    private let writableAgain: EndOfPass<HTTP2UpstreamStream>

    /// Past this stream ID the connection takes no new stream (IDs may not be reused): the
    /// next request opens a new connection.
    private static let lastStreamID: Int32 = 1 << 30

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        writableAgain = EndOfPass(eventLoop: eventLoop) { $0.writableAgain() }
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        onActive = nil
    }

    /// Called once the connection is active: NIO completes a connect before the pipeline
    /// hears it, and a stream may open only after NIO's handler sent the connection preface.
    private var onActive: (() -> Void)?
    private var isActive = false

    /// Runs `body` once the connection is active (now, if it is).
    func whenActive(_ body: @escaping () -> Void) {
        if isActive { body() } else { onActive = body }
    }

    func channelActive(context: ChannelHandlerContext) {
        isActive = true
        context.fireChannelActive()
        let body = onActive
        onActive = nil
        body?()
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }
    /// Whether NIO would still open a stream on it: it has not closed, and the upstream has
    /// not said GOAWAY.
    var opensStreams: Bool { !isClosed && goAwayLastStreamID == nil }

    /// Whether a new stream may go on it.
    var acceptsStreams: Bool { nextStreamID < Self.lastStreamID && isActive && opensStreams }

    /// A stream for one request; it opens with its first frame.
    func makeStream() -> HTTP2UpstreamStream {
        liveStreams += 1
        return HTTP2UpstreamStream(connection: self)
    }

    /// Opens `stream`: the next stream ID is its. On a connection that closed or said GOAWAY
    /// meanwhile it closes right after, unprocessed (its request may go again).
    func open(_ stream: HTTP2UpstreamStream) -> HTTP2StreamID {
        let id = HTTP2StreamID(nextStreamID)
        nextStreamID += 2
        if !opensStreams {
            eventLoop.assumeIsolated().execute { self.close(stream, reason: nil, unserved: true) }
        } else {
            streams[id] = stream
        }
        return id
    }

    /// `stream` reset itself (or NIO refused its first frame): it is done here now. NIO may
    /// never report it closed (a stream still queued behind the upstream's concurrency limit
    /// is dropped silently).
    func remove(_ stream: HTTP2UpstreamStream) {
        guard let id = stream.id, streams.remove(id) != nil else { return }
        finished()
    }

    /// `stream` was given up before it opened.
    func forget(_ stream: HTTP2UpstreamStream) {
        finished()
    }

    private func finished() {
        liveStreams -= 1
        owner?.streamFinished(on: self)
    }

    // MARK: Frames in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        streams.readBegan()
        switch frame.payload {
        case .headers(let headers):
            streams[frame.streamID]?.received(headers)
        case .data(let data):
            streams[frame.streamID]?.received(data)
        case .goAway(let lastStreamID, _, _):
            goAwayLastStreamID = lastStreamID
            // Streams past its last ID, and streams whose HEADERS still wait in NIO behind the
            // upstream's concurrency limit (NIO refuses to open them now, as a connection-level
            // error no stream hears), never reached the upstream: these close now.
            let unserved = streams.remove { id, stream in id > lastStreamID || !stream.isOnWire }
            for stream in unserved { close(stream, reason: nil, unserved: true) }
            owner?.peerSaidGoAway(self)
        default:
            break  // NIO's handler answers the connection's own frames; a reset arrives as an event
        }
    }

    /// `stream`'s exchange deferred a flush to the end of this read.
    func readTouched(_ stream: HTTP2UpstreamStream) {
        streams.touch(stream)
    }

    func streamClosed(_ stream: HTTP2UpstreamStream, reason: HTTP2ErrorCode?) {
        close(stream, reason: reason)
    }

    /// A request frame NIO refused to send (a field HTTP/2 does not allow): that request
    /// cannot go, and its stream is done without a reset (it may never have opened, and a
    /// RST_STREAM on an idle stream is a connection error to the upstream). Errors that end
    /// the connection are NIO's handler's to answer.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? NIOHTTP2Errors.StreamError, let stream = streams.remove(error.streamID) {
            finished()
            stream.refused(error.baseError)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        for stream in streams.removeAll() { close(stream, reason: nil, unserved: !stream.isOnWire) }
        context.fireChannelInactive()
    }

    /// `stream` closed (its exchange, which holds it, may still drain what it holds);
    /// `unserved`: the upstream did not process it.
    private func close(_ stream: HTTP2UpstreamStream, reason: HTTP2ErrorCode?, unserved: Bool = false) {
        stream.closed(reason: reason, unserved: unserved)
        finished()
    }

    // MARK: Frames out

    /// NIO's handler passed `frame` to the wire (``NIOHTTP2FrameDelegate``). Nothing may be
    /// written from here: NIO is between the frame's header and its payload.
    func wroteFrame(_ frame: HTTP2Frame) {
        let becameWritable: Bool
        switch frame.payload {
        case .data(let data): becameWritable = streams[frame.streamID]?.wrote(bytes: data.data.readableBytes, endStream: data.endStream) ?? false
        case .headers(let headers): becameWritable = streams[frame.streamID]?.wrote(bytes: 0, endStream: headers.endStream) ?? false
        default: becameWritable = false
        }
        if becameWritable, let stream = streams[frame.streamID] { writableAgain.add(stream) }
    }
}
