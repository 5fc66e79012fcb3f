import NIOCore

/// A frame a stream sends whose bytes the connection writes itself.
enum HTTP2OutboundFrame {
    /// A field block (HPACK-encoded only as it goes out).
    case headers(HTTP2FieldBlock, endStream: Bool)
    case data(ByteBuffer, endStream: Bool)
}

/// One stream's send window, and what it has to send that may not go yet, in order: its
/// HEADERS until the peer's concurrency limit lets the stream open, DATA beyond the stream's
/// or the connection's send window (RFC 9113 §5.2), and whatever follows them.
struct HTTP2SendQueue {
    /// What the peer lets the stream send.
    var window: Int
    /// Frames that wait; made on the first (most streams never wait).
    private var frames: CircularBuffer<HTTP2OutboundFrame>?

    init(window: Int) {
        self.window = window
    }

    var isEmpty: Bool { frames?.isEmpty ?? true }

    /// `frame` waits behind what waits already.
    mutating func append(_ frame: HTTP2OutboundFrame) {
        if frames == nil { frames = CircularBuffer(initialCapacity: 4) }
        frames?.append(frame)
    }

    /// `frame` (what was left of the first) waits first again.
    mutating func prepend(_ frame: HTTP2OutboundFrame) {
        if frames == nil { frames = CircularBuffer(initialCapacity: 4) }
        frames?.prepend(frame)
    }

    mutating func popFirst() -> HTTP2OutboundFrame? {
        frames?.popFirst()
    }

    /// Nothing waits any more (the stream closed).
    mutating func removeAll() {
        frames = nil
    }
}
