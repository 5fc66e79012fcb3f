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
    private var streams = HTTP2StreamsByID<Stream>()
    private(set) var isReading = false
    private var clock = ReadClock()
    /// A ring, not an array: an array's `removeAll(keepingCapacity:)` takes the generic
    /// `replaceSubrange` path, a cost per read the profile showed.
    private var touched = CircularBuffer<Stream>(initialCapacity: 4)

    subscript(id: HTTP2StreamID) -> Stream? {
        get { streams[id] }
        set { streams[id] = newValue }
    }

    /// How many streams are open.
    var count: Int { streams.count }

    /// Takes the stream with `id` out, if it is here.
    func remove(_ id: HTTP2StreamID) -> Stream? {
        streams.remove(id)
    }

    /// Takes out every stream that satisfies `condition`.
    func remove(where condition: (HTTP2StreamID, Stream) -> Bool) -> [Stream] {
        streams.remove(where: condition)
    }

    /// Takes out every stream (the connection closed).
    func removeAll() -> [Stream] {
        streams.removeAll()
    }

    /// Calls `body` with every stream open when it is called, in no set order: over a copy,
    /// so a stream `body` opens or closes (through the connection) leaves the walk as it was.
    func forEach(_ body: (Stream) throws -> Void) rethrows {
        let open = streams
        try open.forEach(body)
    }

    /// Tells every stream the connection's socket became writable, or stopped being.
    func connectionWritabilityChanged(_ writable: Bool) {
        forEach { $0.connectionWritabilityChanged(writable) }
    }

    /// A read began: its events share one time (``now(_:)``) until ``readReturned()``.
    func readBegan() {
        isReading = true
        clock.readBegan()
    }

    /// The read's frames were handled.
    func readReturned() {
        clock.readEnded()
    }

    /// Now: the time of the read under way, or the clock's outside one.
    func now(_ eventLoop: EventLoop) -> NIODeadline {
        clock.now(eventLoop)
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
        // Nothing is touched meanwhile (no read is under way); the ring keeps its storage for
        // the next read.
        while let stream = touched.popFirst() {
            stream.isTouched = false
            stream.readCompleted()
        }
    }
}
