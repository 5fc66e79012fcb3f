import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// One request's stream on an upstream HTTP/2 connection: its ``HTTP2UpstreamConnection``
/// hands it the stream's frames, it turns them into response parts for its ``Exchange``, and
/// writes the request as frames. No channel or pipeline of its own.
///
/// The stream gets its ID when its first frame goes out (IDs must rise in the order streams
/// open). Backpressure both ways is flow control, as on the listener's streams
/// (``HTTP2ServerStream``): response DATA the client cannot take yet is held and kept out of
/// the receive window, and the request reads as unwritable while more of it than the high
/// watermark waits for the upstream's window.
final class HTTP2UpstreamStream: UpstreamStream, HTTP2TableStream {
    /// Strong: an exchange may still drain held response parts after the connection's handler
    /// let the stream go (which it does when the stream or the connection closes).
    private let connection: HTTP2UpstreamConnection
    private(set) var id: HTTP2StreamID?
    var exchange: Exchange?
    /// Set while the connection's read under way owes this stream's exchange a flush to its
    /// client.
    var isTouched = false

    // Request side.
    /// The request's field block, kept back until the next part or flush so that a request
    /// without a body goes as one HEADERS frame with END_STREAM.
    private var pendingHead: HPACKHeaders?
    /// Request body kept back so the request's end can ride on its DATA frame.
    private var pendingBody: ByteBuffer?
    private var requestEndWritten = false
    /// Set once the request's END_STREAM went to the wire (not just into NIO's flow-control
    /// buffer): a stream whose response ended too then closes by itself.
    private var requestEndSent = false
    /// Set once the request's HEADERS went to the wire (a new stream's HEADERS may wait in
    /// NIO behind the upstream's concurrency limit): the upstream knows the stream.
    private(set) var isOnWire = false
    /// Set once a frame of the stream was handed to NIO: only then may a reset follow (NIO drops
    /// a queued stream it resets; a stream it never saw must not be reset at all).
    private var handedToNIO = false
    /// Request body written and not yet on the wire.
    private var watermark = HTTP2SendWatermark()

    // Response side.
    private var finalHeadRead = false
    /// Set once the response's END_STREAM came (even while its parts are held).
    private var responseEnded = false
    private var readsHeld = false
    /// Response parts the client could not take yet, in order, with each DATA frame's
    /// flow-controlled bytes; made on the first.
    private var held: CircularBuffer<(part: HTTPClientResponsePart, bytes: Int)>?
    /// The stream's receive window as the upstream sees it, `held`'s bytes kept out of it.
    private var receiveWindow = HTTP2StreamReceiveWindow()
    /// Set once the stream closed, or was given up before it opened.
    private var isClosed = false
    /// Set once a frame of the response came.
    private var heardBack = false
    /// Set when the stream closed unprocessed: the upstream refused it (REFUSED_STREAM), its
    /// ID is above a GOAWAY's last stream ID, or its connection closed or said GOAWAY before
    /// its HEADERS reached the wire.
    private var unserved = false

    init(connection: HTTP2UpstreamConnection) {
        self.connection = connection
    }

    // MARK: UpstreamStream (the request)

    var isHTTP1: Bool { false }
    var unanswered: UnansweredRequest { unserved && !heardBack ? .notProcessed : .mayHaveProcessed }
    var isWritable: Bool { watermark.isBelow && !isClosed && connection.isWritable }

    func write(_ part: HTTPClientRequestPart, flush: Bool) {
        guard !isClosed, !requestEndWritten else { return }
        switch part {
        case .head(let head):
            do {
                pendingHead = try HTTP2Fields.requestBlock(head)
            } catch {
                exchange?.requestUnsendable(error)
                return
            }
        case .body(.byteBuffer(let bytes)):
            writePending()
            pendingBody = bytes
            watermark.queued(bytes.readableBytes)
        case .body(.fileRegion):
            break  // the proxy reads bodies from sockets only
        case .end(let trailers):
            requestEndWritten = true
            if let trailers {
                writePending()
                send(.headers(.init(headers: HTTP2Fields.trailerBlock(trailers), endStream: true)))
            } else if let body = pendingBody {
                writePendingHead()
                pendingBody = nil
                send(.data(.init(data: .byteBuffer(body), endStream: true)))
            } else if let head = pendingHead {
                pendingHead = nil
                send(.headers(.init(headers: head, endStream: true)))
            } else {
                send(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
            }
        }
        if flush { self.flush() }
    }

    func flush() {
        writePending()
        connection.flush()
    }

    private func writePending() {
        writePendingHead()
        guard let body = pendingBody else { return }
        pendingBody = nil
        send(.data(.init(data: .byteBuffer(body))))
    }

    private func writePendingHead() {
        guard let head = pendingHead else { return }
        pendingHead = nil
        send(.headers(.init(headers: head)))
    }

    /// Writes a frame on the stream, opening it (taking the next stream ID) with its first. A
    /// stream that opened on a connection that closed or said GOAWAY closes in a moment: what
    /// it would write goes nowhere.
    private func send(_ payload: HTTP2Frame.FramePayload) {
        let id = self.id ?? connection.open(self)
        self.id = id
        guard isOnWire || connection.opensStreams else { return }
        handedToNIO = true
        connection.write(HTTP2Frame(streamID: id, payload: payload))
    }

    func holdReads(_ hold: Bool) {
        readsHeld = hold
        guard !hold, held != nil else { return }
        while !readsHeld, let next = held?.popFirst() {
            receiveWindow.take(next.bytes)
            exchange?.upstreamResponse(next.part)
        }
        if held?.isEmpty == true { held = nil }
        exchange?.upstreamReadComplete()
        returnWindow()
    }

    func abandon() {
        release(clean: false)
    }

    func exchangeEnded(clean: Bool, requestEnded: Bool, endpoint: EndpointRuntime) {
        release(clean: clean)
    }

    /// An ended stream closes by itself; one the exchange left unfinished either way is reset
    /// with CANCEL. A stream that ended both ways is never reset: servers count resets as a
    /// flood (NIO's answers 200 in 30 s with GOAWAY ENHANCE_YOUR_CALM).
    private func release(clean: Bool) {
        exchange = nil
        readsHeld = false
        held = nil
        if id == nil {
            // Never opened: nothing was sent, and nothing will close it.
            guard !isClosed else { return }
            isClosed = true
            connection.forget(self)
        } else if !clean || !requestEndSent {
            reset(.cancel)
        }
    }

    /// Resets the stream with `code`: it counts as closed from now on, even while the
    /// RST_STREAM waits for the socket.
    private func reset(_ code: HTTP2ErrorCode) {
        guard !isClosed, let id else { return }
        if handedToNIO {
            connection.write(HTTP2Frame(streamID: id, payload: .rstStream(code)))
            connection.flush()
        }
        connection.remove(self)
        closed(reason: nil)  // the proxy's own reset is not the upstream's
    }

    // MARK: Frames in (the response)

    /// A field block: an interim or final head (and the end, with END_STREAM), or trailers.
    /// A malformed block fails the exchange (502), whose end resets the stream.
    func received(_ headers: HTTP2Frame.FramePayload.Headers) {
        heardBack = true
        if headers.endStream { responseEnded = true }
        do {
            guard !finalHeadRead else {
                deliver(.end(try HTTP2Fields.trailers(headers.headers)), nil, bytes: 0)
                return
            }
            let head = try HTTP2Fields.responseHead(headers.headers)
            if head.status.code >= 200 { finalHeadRead = true }
            deliver(.head(head), headers.endStream ? .end(nil) : nil, bytes: 0)
        } catch {
            // PROTOCOL_ERROR (RFC 9113 §8.1.1), then the exchange fails saying why.
            let exchange = self.exchange
            self.exchange = nil
            reset(.protocolError)
            exchange?.upstreamError(error)
        }
    }

    /// A DATA frame: body bytes (and the response's end, with END_STREAM).
    func received(_ data: HTTP2Frame.FramePayload.Data) {
        heardBack = true
        guard let parts: (first: HTTPClientResponsePart, second: HTTPClientResponsePart?, bytes: Int) = HTTP2Fields.parts(of: data) else { return }
        receiveWindow.received(parts.bytes)
        if data.endStream { responseEnded = true }
        deliver(parts.first, parts.second, bytes: parts.bytes)
    }

    /// The parts one frame carried: to the exchange now, or held behind what waits already
    /// (or while the client cannot take more). A frame's parts are never split.
    private func deliver(_ first: HTTPClientResponsePart, _ second: HTTPClientResponsePart?, bytes: Int) {
        if readsHeld || held?.isEmpty == false {
            if held == nil { held = CircularBuffer(initialCapacity: 4) }
            held?.append((first, bytes))
            if let second { held?.append((second, 0)) }
            receiveWindow.hold(bytes)
        } else {
            exchange?.upstreamResponse(first)
            if let second { exchange?.upstreamResponse(second) }
            connection.readTouched(self)
        }
        returnWindow()
    }

    /// Tops the receive window up (``HTTP2ReceiveWindow``), counting held bytes as still the
    /// upstream's.
    private func returnWindow() {
        guard !responseEnded, !isClosed, let id, let update = receiveWindow.update(for: id) else { return }
        connection.write(update)
        connection.flush()
    }

    /// The read that delivered response parts ended: the client gets them in one flush.
    func readCompleted() {
        exchange?.upstreamReadComplete()
    }

    // MARK: Stream events

    /// The stream closed: both ways ended, or a reset either way (`reason`), or the connection
    /// went (`unserved`: before the upstream could process the stream). A response that had
    /// not ended is lost; one still held is delivered as the client takes it.
    func closed(reason: HTTP2ErrorCode?, unserved: Bool = false) {
        isClosed = true
        if unserved || reason == .refusedStream { self.unserved = true }
        pendingHead = nil
        pendingBody = nil
        guard !responseEnded else { return }
        held = nil
        lost(reason)
    }

    /// Tells the exchange its response will not end: the upstream reset the stream with
    /// `reason`, or the stream or connection closed.
    private func lost(_ reason: HTTP2ErrorCode?) {
        guard let exchange else { return }
        self.exchange = nil
        if let reason, reason != .noError {
            exchange.upstreamError(HTTP2Fields.StreamReset(code: reason))
        } else {
            exchange.upstreamClosed()
        }
    }

    /// NIO refused to send one of the request's frames (a field HTTP/2 does not allow): the
    /// request cannot go, which is the proxy's failure, not the upstream's. The connection let
    /// the stream go already. A stream the upstream knows is reset; one it never saw is not (a
    /// reset of an idle stream is a connection error to it).
    func refused(_ error: Error) {
        if isOnWire, !isClosed, let id {
            connection.write(HTTP2Frame(streamID: id, payload: .rstStream(.internalError)))
            connection.flush()
        }
        isClosed = true
        pendingHead = nil
        pendingBody = nil
        held = nil
        guard let exchange else { return }
        self.exchange = nil
        exchange.requestUnsendable(error)
    }

    /// A frame of this stream went to the wire (`bytes` of DATA; `endStream`: the request's
    /// end); true when that took the request back under the low watermark (the exchange hears
    /// it from ``writableAgain()``).
    func wrote(bytes: Int, endStream: Bool) -> Bool {
        isOnWire = true
        if endStream { requestEndSent = true }
        return watermark.sent(bytes)
    }

    /// The request went back under the low watermark earlier in this pass.
    func writableAgain() {
        guard watermark.isBelow, !isClosed, connection.isWritable else { return }
        exchange?.upstreamWritabilityChanged(true)
    }

    /// The connection's socket became writable, or stopped being.
    func connectionWritabilityChanged(_ writable: Bool) {
        guard watermark.isBelow else { return }
        exchange?.upstreamWritabilityChanged(writable)
    }
}
