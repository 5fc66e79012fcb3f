import NIOCore
import NIOHTTP2

/// The sending half of an HTTP/2 connection the proxy speaks itself, for either side: the
/// frames written in this pass (one buffer, handed to the channel at the flush), the HPACK
/// encoder, the connection's send window, and what the peer's SETTINGS allow (RFC 9113 §6.5.2).
struct HTTP2Writer {
    /// The most a flow-control window may hold (RFC 9113 §6.9.1).
    static let maxWindow = Int(Int32.max)
    /// HTTP/2's initial window, for connections and streams.
    static let initialWindow = 65_535

    /// Frames written and not yet handed to the channel; made by the first of a pass.
    private var out: ByteBuffer?
    /// The frame buffer last handed to the channel, kept so the next pass writes into its
    /// storage once the channel has written it and let go (most passes then allocate
    /// nothing). One that grew past ``keptBufferBytes`` is not kept.
    private var handedOut: ByteBuffer?
    /// The largest frame buffer kept for the next pass.
    static let keptBufferBytes = 4096
    private var encoder = HTTP2FieldEncoder()
    /// What the peer lets the connection send.
    private(set) var connectionWindow = initialWindow
    /// Each new stream's send window (SETTINGS_INITIAL_WINDOW_SIZE).
    private(set) var initialStreamWindow = initialWindow
    /// The largest frame the peer takes (SETTINGS_MAX_FRAME_SIZE).
    private(set) var maxFrameBytes = HTTP2FrameReader.maxFrameBytes
    /// The streams the peer lets this side open at once (SETTINGS_MAX_CONCURRENT_STREAMS): 100
    /// until its SETTINGS say (the least RFC 9113 §6.5.2 recommends a peer allow, as NIO
    /// assumes), so a burst on a new connection is not refused.
    private(set) var maxConcurrentStreams = 100
    /// PING and SETTINGS answers written while the socket took no more.
    private var unreadAnswers = 0

    /// Set when bytes went to the channel since the last flush.
    private var unflushed = false

    /// Whether frames wait for the next flush.
    var needsFlush: Bool { out != nil || unflushed }

    /// Writes frames into the frame buffer. `allocator` is only asked for when a new buffer is
    /// needed (a caller's way to its channel's costs a retain and a release of each object on
    /// the way).
    mutating func write(allocator: @autoclosure () -> ByteBufferAllocator, _ body: (inout ByteBuffer) throws -> Void) rethrows {
        var buffer = takeFrameBuffer(allocator: allocator())
        defer { out = buffer }
        try body(&buffer)
    }

    /// A field block as HEADERS (and CONTINUATIONs), encoded now: blocks are encoded in the
    /// order they go out.
    mutating func writeHeaders(_ block: HTTP2FieldBlock, endStream: Bool, stream: HTTP2StreamID, allocator: @autoclosure () -> ByteBufferAllocator) {
        var buffer = takeFrameBuffer(allocator: allocator())
        defer { out = buffer }
        buffer.writeHTTP2Headers(block, endStream: endStream, stream: stream, encoder: &encoder, maxFrameBytes: maxFrameBytes)
    }

    /// The buffer this pass's frames go into, taken out of `out` so its storage stays uniquely
    /// referenced while it is written: the pass's, else the one handed out last (emptied; new
    /// storage only if the channel still holds it), else a new one.
    private mutating func takeFrameBuffer(allocator: @autoclosure () -> ByteBufferAllocator) -> ByteBuffer {
        if let buffer = out {
            out = nil
            return buffer
        }
        if var buffer = handedOut {
            handedOut = nil
            buffer.clear()
            return buffer
        }
        return allocator().buffer(capacity: 512)
    }

    /// Takes the frames written, for the channel (unflushed).
    mutating func take() -> ByteBuffer? {
        guard let buffer = out else { return nil }
        out = nil
        unflushed = true
        handedOut = buffer.capacity <= Self.keptBufferBytes ? buffer : nil
        return buffer
    }

    /// Bytes went to the channel beside the frame buffer, unflushed.
    mutating func wroteUnflushed() {
        unflushed = true
    }

    /// What went to the channel was flushed.
    mutating func flushed() {
        unflushed = false
    }

    /// Drops the frames written (the connection closed).
    mutating func discard() {
        out = nil
        handedOut = nil
    }

    /// `bytes` of DATA went out on the connection.
    mutating func sent(_ bytes: Int) {
        connectionWindow -= bytes
    }

    /// A WINDOW_UPDATE for the connection; past 2^31-1 is a connection error.
    mutating func connectionWindowUpdate(_ increment: Int) throws(HTTP2ConnectionError) {
        connectionWindow += increment
        guard connectionWindow <= Self.maxWindow else { throw .init(.flowControlError, "the connection's send window past 2^31-1") }
    }

    /// Applies the peer's SETTINGS and returns how far every stream's send window moves
    /// (SETTINGS_INITIAL_WINDOW_SIZE's change). A server may not enable push, a client may say
    /// 0 or 1; other values break the protocol, as do a window past 2^31-1 and a frame size
    /// outside 16,384 to 16,777,215.
    mutating func apply(_ payload: ByteBuffer, peerIsServer: Bool) throws(HTTP2ConnectionError) -> Int {
        var change = 0
        try HTTP2FrameReader.settings(payload) { (identifier, value) throws(HTTP2ConnectionError) in
            switch identifier {
            case 0x1:  // SETTINGS_HEADER_TABLE_SIZE: the most the encoder's table may hold
                encoder.peerSetTableSize()
            case 0x2:  // SETTINGS_ENABLE_PUSH
                guard value == 0 || value == 1 && !peerIsServer else { throw .init(.protocolError, "SETTINGS_ENABLE_PUSH \(value)") }
            case 0x3:  // SETTINGS_MAX_CONCURRENT_STREAMS
                maxConcurrentStreams = Int(value)
            case 0x4:  // SETTINGS_INITIAL_WINDOW_SIZE: every stream's window moves by the change
                guard value <= UInt32(Self.maxWindow) else { throw .init(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE \(value)") }
                change += Int(value) - initialStreamWindow
                initialStreamWindow = Int(value)
            case 0x5:  // SETTINGS_MAX_FRAME_SIZE
                guard (16_384...16_777_215).contains(value) else { throw .init(.protocolError, "SETTINGS_MAX_FRAME_SIZE \(value)") }
                maxFrameBytes = Int(value)
            default:
                break  // SETTINGS_MAX_HEADER_LIST_SIZE is advice; unknown settings are ignored
            }
        }
        return change
    }

    /// An answer to a PING or SETTINGS was written. One written while the socket takes no more
    /// counts; past ``BuiltInLimits/http2BufferedControlFrames`` of them the peer floods.
    mutating func answered(socketWritable: Bool) throws(HTTP2ConnectionError) {
        guard !socketWritable else {
            unreadAnswers = 0
            return
        }
        unreadAnswers += 1
        guard unreadAnswers <= BuiltInLimits.http2BufferedControlFrames else {
            throw .init(.enhanceYourCalm, "\(unreadAnswers) PING or SETTINGS answers the peer does not read")
        }
    }

    /// The socket takes bytes again: the answers went.
    mutating func socketWritable() {
        unreadAnswers = 0
    }
}
