import NIOCore
import NIOHTTP2

/// A stream as its connection's ``HTTP2StreamTable`` keeps it: the listener's
/// ``HTTP2ServerStream`` or an upstream's ``HTTP2UpstreamStream``.
protocol HTTP2TableStream: AnyObject {
    /// Set while the connection's read under way owes this stream's exchange a flush.
    var isTouched: Bool { get set }
    /// The read ended: the exchange flushes what it deferred.
    func readCompleted()
    /// The connection's socket became writable, or stopped being.
    func connectionWritabilityChanged(_ writable: Bool)
}

/// The open streams of one HTTP/2 connection by ID, and the read under way: the streams whose
/// exchanges deferred a flush to its end, each once, so a read carrying many frames costs each
/// exchange one flush.
final class HTTP2StreamTable<Stream: HTTP2TableStream> {
    private var streams: [HTTP2StreamID: Stream] = [:]
    private(set) var isReading = false
    private var touched: [Stream] = []

    subscript(id: HTTP2StreamID) -> Stream? {
        get { streams[id] }
        set { streams[id] = newValue }
    }

    /// Takes the stream with `id` out, if it is here.
    func remove(_ id: HTTP2StreamID) -> Stream? {
        streams.removeValue(forKey: id)
    }

    /// Takes out every stream that satisfies `condition`.
    func remove(where condition: (HTTP2StreamID, Stream) -> Bool) -> [Stream] {
        var removed: [Stream] = []
        for (id, stream) in streams where condition(id, stream) {
            streams[id] = nil
            removed.append(stream)
        }
        return removed
    }

    /// Takes out every stream (the connection closed).
    func removeAll() -> [Stream] {
        let all = Array(streams.values)
        streams = [:]
        return all
    }

    /// Calls `body` with every stream.
    func forEach(_ body: (Stream) throws -> Void) rethrows {
        for stream in streams.values { try body(stream) }
    }

    /// Tells every stream the connection's socket became writable, or stopped being.
    func connectionWritabilityChanged(_ writable: Bool) {
        for stream in streams.values { stream.connectionWritabilityChanged(writable) }
    }

    /// A read began.
    func readBegan() {
        isReading = true
    }

    /// `stream`'s exchange deferred a flush to the end of this read.
    func touch(_ stream: Stream) {
        guard isReading, !stream.isTouched else { return }
        stream.isTouched = true
        touched.append(stream)
    }

    /// The read ended: every touched stream's exchange flushes.
    func readCompleted() {
        isReading = false
        guard !touched.isEmpty else { return }
        // Nothing is touched meanwhile (no read is under way), so the array is iterated in
        // place and emptied after, keeping its storage for the next read.
        for stream in touched {
            stream.isTouched = false
            stream.readCompleted()
        }
        touched.removeAll(keepingCapacity: true)
    }
}

/// The last handler of an HTTP/2 connection, behind NIO's HTTP/2 handler: the listener's
/// ``HTTP2ServerConnection`` or an upstream's ``HTTP2UpstreamConnection``. What reads and NIO's
/// events mean for their streams is the same on both sides.
protocol HTTP2StreamOwner: ChannelInboundHandler where OutboundOut == HTTP2Frame {
    associatedtype Stream: HTTP2TableStream
    var streams: HTTP2StreamTable<Stream> { get }
    /// Its place in the pipeline while it is there.
    var context: ChannelHandlerContext? { get }
    /// NIO closed `stream` (`reason`: the reset's code, if it was reset); it is out of the table.
    func streamClosed(_ stream: Stream, reason: HTTP2ErrorCode?)
}

extension HTTP2StreamOwner {
    /// Writes a frame (unflushed).
    func write(_ frame: HTTP2Frame, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    /// Flushes what was written.
    func flush() {
        context?.flush()
    }

    /// The read ended: every stream that deferred a flush to it flushes.
    func channelReadComplete(context: ChannelHandlerContext) {
        streams.readCompleted()
        context.fireChannelReadComplete()
    }

    /// NIO's events: a connection window that fell to half is topped up, and a closed stream
    /// leaves the table.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        streamEvent(event)
        context.fireUserInboundEventTriggered(event)
    }

    /// Handles NIO's window and stream-closed events; false for any other event.
    @discardableResult
    func streamEvent(_ event: Any) -> Bool {
        let read = HTTP2ReceiveWindow.read(event) { update in
            write(update, promise: nil)
            flush()
        }
        switch read {
        case .closed(let closed):
            if let stream = streams.remove(closed.streamID) { streamClosed(stream, reason: closed.reason) }
            return true
        case .window:
            return true
        case nil:
            return false
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        streams.connectionWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }
}
