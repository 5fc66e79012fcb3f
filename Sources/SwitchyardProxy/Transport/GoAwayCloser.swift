import NIOCore

/// Closes an HTTP/2 connection once it has sent a GOAWAY for an error.
///
/// NIO's HTTP/2 handler answers every connection error (CONTINUATION or control-frame floods,
/// HPACK errors, flow-control overflow, stream-id reuse, ...) with a GOAWAY and then leaves the
/// socket open: the peer may keep sending, and the handler keeps buffering. RFC 9113 §5.4.1
/// says the endpoint closes the connection after the GOAWAY; this handler does that. It sits
/// between the socket and `NIOHTTP2Handler`, reads only the 9-byte header of each outbound
/// frame (payloads are skipped in bulk), and closes after the flush that carries a GOAWAY whose
/// error code is not NO_ERROR. A graceful GOAWAY (NO_ERROR, a drain) closes nothing.
final class GoAwayCloser: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private static let goAwayType: UInt8 = 0x7
    /// Bytes before the first frame: the client connection preface, for a client.
    private var skip: Int
    /// The frame header being read (and, for a GOAWAY, the 8 payload bytes up to its error code).
    private var header: [UInt8] = []
    private var closeAfterFlush = false

    /// - Parameter isClient: whether this side sends the 24-byte client preface first.
    init(isClient: Bool) {
        skip = isClient ? 24 : 0
        header.reserveCapacity(17)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer): scan(buffer.readableBytesView)
        case .fileRegion(let region): skip += region.readableBytes
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

    private func scan(_ bytes: ByteBufferView) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if skip > 0 {
                let step = min(skip, bytes.endIndex - index)
                skip -= step
                index += step
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
                let errorCode = header[13...16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                if errorCode != 0 { closeAfterFlush = true }
                skip = length - 8
                header.removeAll(keepingCapacity: true)
            }
        }
    }
}
