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
/// cut short by the wait in the queue).
final class GoAwayCloser: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private static let goAwayType: UInt8 = 0x7
    private static let largestStreamID: UInt32 = 0x7FFF_FFFF
    /// Bytes before the next frame header: the client connection preface, or a payload.
    private var skip: Int
    /// The frame header being read (and, for a GOAWAY, the 8 payload bytes up to its error code).
    private var header: [UInt8] = []
    private var closeAfterFlush = false
    /// How long a peer has to acknowledge a graceful shutdown (nil: no bound, for the
    /// upstream side, which never starts one).
    private let ackTimeout: TimeAmount?
    /// Armed by the first GOAWAY of a graceful shutdown; cancelled by the second.
    private var ackTimer: Scheduled<Void>?
    private var armAckTimer = false
    /// Set once the second GOAWAY went out: the peer acknowledged, no timer is needed.
    private var acknowledged = false

    /// - Parameters:
    ///   - isClient: whether this side sends the 24-byte client preface first.
    ///   - ackTimeout: how long a peer may leave a graceful GOAWAY's PING unacknowledged.
    init(isClient: Bool, ackTimeout: TimeAmount? = nil) {
        skip = isClient ? 24 : 0
        self.ackTimeout = ackTimeout
        header.reserveCapacity(17)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer): scan(buffer.readableBytesView)
        case .fileRegion(let region): skip -= min(skip, region.readableBytes)  // a DATA payload
        }
        guard armAckTimer, let ackTimeout else {
            context.write(data, promise: promise)
            return
        }
        armAckTimer = false
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.assumeIsolated().whenSuccess { [weak self] in
            guard let self, self.ackTimer == nil, !self.acknowledged else { return }
            self.ackTimer = context.eventLoop.assumeIsolated().scheduleTask(in: ackTimeout) { context.close(promise: nil) }
        }
        context.write(data, promise: written)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        if closeAfterFlush {
            closeAfterFlush = false
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
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
                sawGoAway(lastStreamID: Self.uint32(header[9...12]) & Self.largestStreamID, errorCode: Self.uint32(header[13...16]))
                skip = length - 8
                header.removeAll(keepingCapacity: true)
            }
        }
    }

    private func sawGoAway(lastStreamID: UInt32, errorCode: UInt32) {
        if errorCode != 0 {
            closeAfterFlush = true
        } else if lastStreamID == Self.largestStreamID {
            armAckTimer = true
        } else {
            acknowledged = true
            armAckTimer = false
            ackTimer?.cancel()
            ackTimer = nil
        }
    }

    private static func uint32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
