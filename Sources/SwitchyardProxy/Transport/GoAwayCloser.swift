import NIOCore

/// Closes an HTTP/2 connection once it has sent a GOAWAY for an error, or once a graceful
/// shutdown stalls.
///
/// NIO's HTTP/2 handler answers every connection error (CONTINUATION or control-frame floods,
/// HPACK errors, flow-control overflow, stream-id reuse, ...) with a GOAWAY and then leaves the
/// socket open: the peer may keep sending, and the handler keeps buffering. RFC 9113 §5.4.1
/// says the endpoint closes the connection after the GOAWAY; this handler does that. It sits
/// between the socket and `NIOHTTP2Handler`, reads only the header of each outbound frame (and
/// a GOAWAY's first 8 payload bytes; payloads are skipped in bulk), and closes after the flush
/// that carries a GOAWAY whose error code is not NO_ERROR.
///
/// A graceful shutdown (``HTTP2ServerConnection``: GOAWAY NO_ERROR with the largest stream id,
/// a PING, then a GOAWAY with the last stream id once the PING is acknowledged) is left to
/// finish, unless the peer never acknowledges: then the connection closes `ackTimeout` after
/// the first GOAWAY reached the socket (so a slow reader with data queued ahead of it is not
/// cut short by the wait in the queue). The acknowledgement ends the wait
/// (``gracefulShutdownAcknowledged()``), however long NIO's handler then holds the second
/// GOAWAY for a peer that does not read.
///
/// The shutdown's first GOAWAY is written here (``writeFirstGracefulGoAway()``), beneath NIO's
/// handler, which never sees it. NIO's handler takes any GOAWAY it sends for the start of its
/// own quiescing, and a connection quiescing with no stream open is over for it: it would
/// refuse a stream the client opened before it saw the GOAWAY, and answer the client's next
/// SETTINGS acknowledgement with a PROTOCOL_ERROR GOAWAY. RFC 9113 §6.8 wants those streams
/// served; the second GOAWAY, naming the last of them, goes through NIO's handler.
final class GoAwayCloser: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private static let goAwayType: UInt8 = 0x7
    private static let largestStreamID: UInt32 = 0x7FFF_FFFF
    /// Bytes before the next frame header: a payload.
    private var skip = 0
    /// The frame header being read (and, for a GOAWAY, the 8 payload bytes up to its error code).
    private var header: [UInt8] = []
    private var closeAfterFlush = false
    /// How long a peer has to acknowledge a graceful shutdown (nil: no bound).
    private let ackTimeout: TimeAmount?
    /// Armed once a graceful shutdown's first GOAWAY reached the socket; cancelled by the
    /// peer's acknowledgement.
    private var ackTimer: Scheduled<Void>?
    /// Set once the peer acknowledged a graceful shutdown: no timer is needed.
    private var acknowledged = false
    private var context: ChannelHandlerContext?

    /// - Parameter ackTimeout: how long a peer may leave a graceful GOAWAY's PING
    ///   unacknowledged (nil: no bound).
    init(ackTimeout: TimeAmount? = nil) {
        self.ackTimeout = ackTimeout
        header.reserveCapacity(17)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer): scan(buffer.readableBytesView)
        case .fileRegion(let region): skip -= min(skip, region.readableBytes)  // a DATA payload
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        if closeAfterFlush {
            closeAfterFlush = false
            context.close(promise: nil)
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        ackTimer?.cancel()
        ackTimer = nil
    }

    /// Writes (without flushing) a graceful shutdown's first GOAWAY: NO_ERROR, the largest
    /// stream id. The peer has `ackTimeout` from when it reaches the socket to acknowledge.
    /// Only between frames: never from inside a write of NIO's handler (its frame delegate).
    func writeFirstGracefulGoAway() {
        guard let context else { return }
        assert(skip == 0 && header.isEmpty, "a GOAWAY written inside another frame")
        var frame = context.channel.allocator.buffer(capacity: 17)
        frame.writeInteger(UInt32(8) << 8 | UInt32(Self.goAwayType))  // length, type
        frame.writeInteger(UInt8(0))  // flags
        frame.writeInteger(UInt32(0))  // the connection's stream
        frame.writeInteger(Self.largestStreamID)
        frame.writeInteger(UInt32(0))  // NO_ERROR
        guard let ackTimeout else {
            context.write(NIOAny(IOData.byteBuffer(frame)), promise: nil)
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenSuccess { [weak self] in
            guard let self, self.ackTimer == nil, !self.acknowledged else { return }
            self.ackTimer = context.eventLoop.assumeIsolated().scheduleTask(in: ackTimeout) { context.close(promise: nil) }
        }
        context.write(NIOAny(IOData.byteBuffer(frame)), promise: written)
    }

    /// The peer acknowledged the graceful shutdown: it closes when its streams end, not when
    /// `ackTimeout` does.
    func gracefulShutdownAcknowledged() {
        acknowledged = true
        ackTimer?.cancel()
        ackTimer = nil
    }

    private func scan(_ bytes: ByteBufferView) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if skip > 0 {
                let step = min(skip, bytes.endIndex - index)
                skip -= step
                index += step
                continue
            }
            // A whole header here, of a frame that is no GOAWAY: its payload is skipped at once.
            if header.isEmpty, bytes.endIndex - index >= 9, bytes[index + 3] != Self.goAwayType {
                skip = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
                index += 9
                continue
            }
            header.append(bytes[index])
            index += 1
            if header.count == 9 {
                let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                if header[3] != Self.goAwayType || length < 8 {
                    skip = length
                    header.removeAll(keepingCapacity: true)
                }
            } else if header.count == 17 {
                let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                if Self.uint32(header[13...16]) != 0 { closeAfterFlush = true }
                skip = length - 8
                header.removeAll(keepingCapacity: true)
            }
        }
    }

    private static func uint32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
