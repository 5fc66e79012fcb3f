import NIOCore
import NIOHTTP2

/// The last handler of an HTTP/2 connection the proxy speaks itself: the listener's
/// ``HTTP2ServerConnection`` or an upstream's ``HTTP2UpstreamConnection``. Reading is the same
/// on both sides: bytes in, frames out of the ``HTTP2FrameReader`` to ``handle(_:)``, every
/// stream whose exchange deferred a flush flushed at the end of the read, the connection's
/// receive window given back, and any connection error answered with GOAWAY and a close.
protocol HTTP2ConnectionHandler: HTTP2FrameSender where InboundIn == ByteBuffer, SendingStream: HTTP2TableStream {
    var reader: HTTP2FrameReader { get set }
    var streams: HTTP2StreamTable<SendingStream> { get }
    /// Set once the connection closed, or is closing for an error: nothing more is read.
    var isClosed: Bool { get set }
    /// The last stream the peer opened that this side may have processed, for a GOAWAY.
    var lastPeerStreamID: HTTP2StreamID { get }
    /// What one frame means to this side's streams.
    func handle(_ frame: HTTP2InboundFrame) throws(HTTP2ConnectionError)
    /// Set while reads must not be handled: a flush under way inside an exchange, whose failed
    /// write makes NIO read what is left before it closes the connection.
    var holdsReads: Bool { get }
}

extension HTTP2ConnectionHandler {
    var holdsReads: Bool { false }
}

extension HTTP2ConnectionHandler {
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosed, !holdsReads else { return }
        reader.feed(unwrapInboundIn(data))
        streams.readBegan()
        defer { streams.readReturned() }
        do {
            while !isClosed, let frame = try reader.next() {
                try handle(frame)
            }
        } catch {
            return fail(error)
        }
        guard !isClosed else { return }  // ended meanwhile, for an error or by the peer
        if let increment = reader.windowUpdate() { writeFrames { $0.writeHTTP2WindowUpdate(increment) } }
    }

    /// The read ended: every stream that deferred a flush to it flushes, and so does the
    /// connection.
    func channelReadComplete(context: ChannelHandlerContext) {
        streams.readCompleted()
        if writer.needsFlush { flush() }
        context.fireChannelReadComplete()
    }

    /// Ends the connection for `error`: GOAWAY with its code, then close.
    func fail(_ error: HTTP2ConnectionError) {
        guard !isClosed, let context else { return }
        isClosed = true
        writeFrames { $0.writeHTTP2GoAway(lastStreamID: lastPeerStreamID, code: error.code) }
        flush()
        context.close(promise: nil)
    }
}
