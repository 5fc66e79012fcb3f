import NIOCore
import NIOHTTP2

/// A stream as an ``HTTP2FrameSender`` sends on it: its ID once it is open, and its send
/// window with what waits for it.
protocol HTTP2SendingStream: AnyObject {
    /// The stream's ID, once it is open (an upstream stream opens with its HEADERS).
    var openID: HTTP2StreamID? { get }
    var queue: HTTP2SendQueue { get set }
    var isClosed: Bool { get }
}

/// A connection that writes its HTTP/2 frames itself (the listener's ``HTTP2ServerConnection``
/// and an upstream's ``HTTP2UpstreamConnection``): what sending a stream's frames within the
/// peer's windows means is the same on both sides.
///
/// A stream's frames go out in order. DATA goes as far as the stream's and the connection's
/// send windows and the peer's frame size allow; the rest waits in the stream's
/// ``HTTP2SendQueue``, with whatever the stream sends after it, until a WINDOW_UPDATE (or a
/// larger initial window) lets it go. DATA over ``copiedDataBytes`` is written beside the frame
/// buffer, uncopied.
///
/// Frames wait in the writer's buffer until the ``FlushCoalescer`` in front flushes (the
/// sender is its ``FlushSource``): every frame of a pass goes to the channel in one buffer.
protocol HTTP2FrameSender: ChannelInboundHandler, FlushSource where OutboundOut == ByteBuffer {
    associatedtype SendingStream: HTTP2SendingStream
    var context: ChannelHandlerContext? { get }
    /// The pipeline's coalescer, which asks for the frames as it flushes.
    var flushes: FlushCoalescer { get }
    var writer: HTTP2Writer { get set }
    /// Streams with DATA waiting for the connection's send window, in order.
    var waitingForWindow: [SendingStream] { get set }
    /// A frame of `stream` went out: `bytes` of DATA; `endStream`, its last.
    func sent(_ stream: SendingStream, bytes: Int, endStream: Bool)
    /// Ends the connection for `error`: GOAWAY with its code, then close.
    func fail(_ error: HTTP2ConnectionError)
}

/// DATA longer than this is written beside the frame buffer instead of copied into it.
let copiedDataBytes = 1024

extension HTTP2FrameSender {
    /// Sends `frame` on the open `stream`: now, as far as the windows allow, or behind what
    /// waits already.
    func send(_ frame: HTTP2OutboundFrame, onOpen stream: SendingStream) {
        guard stream.queue.isEmpty else {
            stream.queue.append(frame)
            return
        }
        if let rest = emit(frame, on: stream) { stream.queue.prepend(rest) }
    }

    /// Writes what `stream` has waiting, as far as its windows allow.
    func pump(_ stream: SendingStream) {
        while let frame = stream.queue.popFirst() {
            if let rest = emit(frame, on: stream) {
                stream.queue.prepend(rest)
                return
            }
        }
    }

    /// Writes `frame` on the open `stream`; what the windows held back is returned.
    private func emit(_ frame: HTTP2OutboundFrame, on stream: SendingStream) -> HTTP2OutboundFrame? {
        guard let id = stream.openID else { return frame }  // not open yet: it waits
        guard let context else { return nil }
        switch frame {
        case .headers(let block, let endStream):
            writer.writeHeaders(block, endStream: endStream, stream: id, allocator: context.channel.allocator)
            sent(stream, bytes: 0, endStream: endStream)
            return nil
        case .data(var bytes, let endStream):
            while true {
                let size = min(bytes.readableBytes, stream.queue.window, writer.connectionWindow, writer.maxFrameBytes)
                let last = size == bytes.readableBytes
                guard size > 0 || last else {
                    if writer.connectionWindow <= 0, !waitingForWindow.contains(where: { $0 === stream }) { waitingForWindow.append(stream) }
                    return .data(bytes, endStream: endStream)
                }
                stream.queue.window -= size
                writer.sent(size)
                guard let chunk = bytes.readSlice(length: size) else { return nil }
                writeData(chunk, endStream: endStream && last, stream: id, context: context)
                sent(stream, bytes: size, endStream: endStream && last)
                if last { return nil }
            }
        }
    }

    /// A DATA frame: copied into the frame buffer when small, written beside it otherwise.
    private func writeData(_ chunk: ByteBuffer, endStream: Bool, stream: HTTP2StreamID, context: ChannelHandlerContext) {
        writer.write(allocator: context.channel.allocator) {
            $0.writeHTTP2DataHeader(length: chunk.readableBytes, endStream: endStream, stream: stream)
            if chunk.readableBytes <= copiedDataBytes { $0.writeImmutableBuffer(chunk) }
        }
        guard chunk.readableBytes > copiedDataBytes else { return }
        writeOut()
        context.write(wrapOutboundOut(chunk), promise: nil)
        writer.wroteUnflushed()
    }

    /// `stream` sends nothing more (it closed): what waits is dropped, and it waits for the
    /// connection's window no more.
    func stopSending(_ stream: SendingStream) {
        guard !stream.queue.isEmpty else { return }
        stream.queue.removeAll()
        waitingForWindow.removeAll { $0 === stream }
    }

    /// Writes frames into the frame buffer (nothing once the connection is gone).
    func writeFrames(_ body: (inout ByteBuffer) -> Void) {
        guard let context else { return }
        writer.write(allocator: context.channel.allocator, body)
    }

    /// Hands what was written to the channel (unflushed).
    func writeOut() {
        guard let context, let buffer = writer.take() else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    /// Asks for a flush: the coalescer takes the frames written (``writeBeforeFlush()``) when
    /// it flushes, at the end of the pass or at once.
    func flush() {
        context?.flush()
    }

    /// Hands what was written to the channel, for the coalescer's flush.
    func writeBeforeFlush() {
        writeOut()
        writer.flushed()
    }

    /// A WINDOW_UPDATE for the connection: the streams waiting for it go on, in order.
    func connectionWindowUpdate(_ increment: Int) throws(HTTP2ConnectionError) {
        try writer.connectionWindowUpdate(increment)
        let waiting = waitingForWindow
        waitingForWindow.removeAll(keepingCapacity: true)
        for stream in waiting where !stream.isClosed { pump(stream) }
    }

    /// A WINDOW_UPDATE for `stream`; false when it takes the window past 2^31-1 (the stream's
    /// error, FLOW_CONTROL_ERROR).
    func streamWindowUpdate(_ stream: SendingStream, _ increment: Int) -> Bool {
        stream.queue.window += increment
        guard stream.queue.window <= HTTP2Writer.maxWindow else { return false }
        pump(stream)
        return true
    }

    /// Answers a PING (RFC 9113 §6.7), counting answers the peer does not read.
    func answerPing(_ data: UInt64) throws(HTTP2ConnectionError) {
        writeFrames { $0.writeHTTP2PingAck(data) }
        try writer.answered(socketWritable: context?.channel.isWritable ?? false)
    }

    /// Applies the peer's SETTINGS and acknowledges them (RFC 9113 §6.5.3); every stream's send
    /// window moves by the initial window's change (past 2^31-1: a connection error), and
    /// streams that may send now do.
    func applySettings(_ payload: ByteBuffer, peerIsServer: Bool, streams: [SendingStream]) throws(HTTP2ConnectionError) {
        let change = try writer.apply(payload, peerIsServer: peerIsServer)
        writeFrames { $0.writeHTTP2SettingsAck() }
        try writer.answered(socketWritable: context?.channel.isWritable ?? false)
        guard change != 0 else { return }
        for stream in streams {
            stream.queue.window += change
            guard stream.queue.window <= HTTP2Writer.maxWindow else { throw .init(.flowControlError, "a stream's send window past 2^31-1") }
        }
        if change > 0 { for stream in streams where stream.openID != nil && !stream.isClosed && !stream.queue.isEmpty { pump(stream) } }
    }
}
