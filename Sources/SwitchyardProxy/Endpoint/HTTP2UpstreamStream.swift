import NIOCore
import NIOHTTP1
import NIOHTTP2

/// One request's stream on an upstream HTTP/2 connection: its ``HTTP2UpstreamConnection``
/// hands it the stream's frames, it turns them into response parts for its ``Exchange``, and
/// writes the request as frames. No channel or pipeline of its own.
///
/// The stream gets its ID when its HEADERS go out (IDs must rise in the order streams open).
/// Backpressure both ways is flow control, as on the listener's streams
/// (``HTTP2ServerStream``): response DATA the client cannot take yet is held and kept out of
/// the receive window, and the request reads as unwritable while more of it than the high
/// watermark waits for the upstream's window.
final class HTTP2UpstreamStream: UpstreamStream, HTTP2TableStream, HTTP2SendingStream {
    /// Strong: an exchange may still drain held response parts after the connection's handler
    /// let the stream go (which it does when the stream or the connection closes).
    private let connection: HTTP2UpstreamConnection
    /// Set by the connection when the stream's HEADERS go out.
    var id: HTTP2StreamID?
    var openID: HTTP2StreamID? { id }
    /// What the stream may send and what waits, kept by the connection.
    var queue: HTTP2SendQueue
    var exchange: Exchange?
    /// Set while the connection's read under way owes this stream's exchange a flush to its
    /// client.
    var isTouched = false

    // Request side.
    /// The request's field block, kept back until the next part or flush so that a request
    /// without a body goes as one HEADERS frame with END_STREAM.
    private var pendingHead: HTTP2FieldBlock?
    /// Request body kept back so the request's end can ride on its DATA frame.
    private var pendingBody: ByteBuffer?
    private var requestEndWritten = false
    /// Set once the request's END_STREAM went out (not just into the stream's queue): a stream
    /// whose response ended too then closes.
    private(set) var requestEndSent = false
    /// Set once the request's HEADERS went out (a new stream's HEADERS may wait behind the
    /// upstream's concurrency limit): the upstream knows the stream.
    private(set) var isOnWire = false
    /// Whether the request is a HEAD (its response's `content-length` frames no body).
    private var isHeadRequest = false
    /// Request body written and not yet out.
    private var watermark = HTTP2SendWatermark()

    // Response side.
    private var finalHeadRead = false
    /// Set once the response's END_STREAM came (even while its parts are held).
    private(set) var responseEnded = false
    /// What the final response's head lets its DATA add up to.
    private var contentLength = HTTP2ContentLength()
    private var readsHeld = false
    /// Response parts the client could not take yet, in order, with each DATA frame's
    /// flow-controlled bytes; made on the first.
    private var held: CircularBuffer<(part: UpstreamResponsePart, bytes: Int)>?
    /// The stream's receive window as the upstream sees it, `held`'s bytes kept out of it.
    private var receiveWindow = HTTP2StreamReceiveWindow()
    /// Set once the stream closed, or was given up before it opened.
    private(set) var isClosed = false
    /// Set once a frame of the response came.
    private var heardBack = false
    /// Set when the stream closed unprocessed: the upstream refused it (REFUSED_STREAM), its
    /// ID is above a GOAWAY's last stream ID, or its connection closed or said GOAWAY before
    /// its HEADERS reached the wire.
    private var unserved = false

    init(connection: HTTP2UpstreamConnection, window: Int) {
        self.connection = connection
        queue = HTTP2SendQueue(window: window)
    }

    // MARK: UpstreamStream (the request)

    var isHTTP1: Bool { false }
    var unanswered: UnansweredRequest { unserved && !heardBack ? .notProcessed : .mayHaveProcessed }
    var isWritable: Bool { watermark.isBelow && !isClosed && connection.isWritable }

    func write(_ part: RequestPart, flush: Bool) {
        guard !isClosed, !requestEndWritten else { return }
        switch part {
        case .head(let head):
            isHeadRequest = head.method.isHEAD
            do {
                pendingHead = try HTTP2Fields.requestBlock(head)
            } catch {
                exchange?.requestUnsendable(error)
                return
            }
        case .body(let bytes):
            writePending()
            pendingBody = bytes
            watermark.queued(bytes.readableBytes)
        case .end(let trailers):
            requestEndWritten = true
            if let trailers {
                writePending()
                send(.headers(HTTP2Fields.trailerBlock(trailers), endStream: true))
            } else if let body = pendingBody {
                writePendingHead()
                pendingBody = nil
                send(.data(body, endStream: true))
            } else if let head = pendingHead {
                pendingHead = nil
                send(.headers(head, endStream: true))
            } else {
                send(.data(ByteBuffer(), endStream: true))
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
        send(.data(body, endStream: false))
    }

    private func writePendingHead() {
        guard let head = pendingHead else { return }
        pendingHead = nil
        send(.headers(head, endStream: false))
    }

    /// Sends a frame on the stream, which opens with its HEADERS (``HTTP2UpstreamConnection``).
    private func send(_ frame: HTTP2OutboundFrame) {
        connection.send(frame, on: self)
    }

    func holdReads(_ hold: Bool) {
        readsHeld = hold
        guard !hold, held != nil else { return }
        while !readsHeld, let next = held?.popFirst() {
            receiveWindow.take(next.bytes)
            exchange?.upstreamResponse(next.part, now: connection.now())
        }
        if held?.isEmpty == true { held = nil }
        exchange?.upstreamReadComplete()
        returnWindow()
    }

    func abandon() {
        release(clean: false)
    }

    func exchangeEnded(clean: Bool, requestEnded: Bool, endpoint: EndpointRuntime, now: NIODeadline) {
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
        guard !isClosed else { return }
        // Closed before the connection writes and flushes the RST_STREAM: what the flush
        // wakes (the socket writable again) must find nothing more to send on it.
        isClosed = true
        connection.reset(self, code)
        closed(reason: nil)  // the proxy's own reset is not the upstream's
    }

    // MARK: Frames in (the response)

    /// A field block: an interim or final head (and the end, with END_STREAM), or trailers.
    /// A malformed block fails the exchange (502), whose end resets the stream.
    func received(_ block: HTTP2ReceivedFields, endStream: Bool) {
        heardBack = true
        if endStream { responseEnded = true }
        do {
            guard !finalHeadRead else {
                guard endStream else { throw MalformedHTTP2Response("a field block after the head that does not end the stream") }
                try checkLength(0, ending: true)
                deliver(.end(try HTTP2Fields.trailers(block)), nil, bytes: 0)
                return
            }
            let head = try HTTP2Fields.responseHead(block)
            if head.status.code >= 200 {
                finalHeadRead = true
                contentLength = HTTP2ContentLength(try Self.bodyLength(of: head, answeringHead: isHeadRequest))
                try checkLength(0, ending: endStream)
            } else if endStream {
                throw MalformedHTTP2Response("an interim response that ends the stream")
            }
            deliver(.head(head), endStream ? .end(nil) : nil, bytes: 0)
        } catch {
            malformed(error)
        }
    }

    /// A DATA frame: body bytes (and the response's end, with END_STREAM); `flowControlled`
    /// is what it took of the receive window. DATA past the window, before the final head,
    /// or beyond the response's `content-length` is malformed.
    func received(_ bytes: ByteBuffer, endStream: Bool, flowControlled: Int) {
        heardBack = true
        receiveWindow.received(flowControlled)
        if endStream { responseEnded = true }
        do {
            guard !receiveWindow.isOverdrawn else { throw MalformedHTTP2Response("DATA past the stream's window", code: .flowControlError) }
            guard finalHeadRead else { throw MalformedHTTP2Response("DATA before the head") }
            try checkLength(bytes.readableBytes, ending: endStream)
        } catch {
            return malformed(error)
        }
        let parts: (first: UpstreamResponsePart, second: UpstreamResponsePart?) = HTTP2Fields.parts(of: bytes, endStream: endStream)
        deliver(parts.first, parts.second, bytes: flowControlled)
    }

    /// Counts `bytes` of the body (and its end, when `ending`); throws once it went past what
    /// the head allows, or ended short of it (RFC 9113 §8.1.1).
    private func checkLength(_ bytes: Int, ending: Bool) throws(MalformedHTTP2Response) {
        guard contentLength.received(bytes, end: ending) else {
            throw MalformedHTTP2Response("a body that does not match its content-length (none may follow HEAD, 204 or 304)")
        }
    }

    /// The body bytes a final response may carry: 0 for a response to HEAD, a 204 or a 304
    /// (whatever their `content-length` says, RFC 9110 §6.4.1), its `content-length`
    /// otherwise; nil when it has none.
    private static func bodyLength(of head: ResponseHead, answeringHead: Bool) throws(MalformedHTTP2Response) -> Int? {
        guard !answeringHead, head.status != .noContent, head.status != .notModified else { return 0 }
        switch RequestBodyFraming.contentLength(of: head.fields) {
        case .absent: return nil
        case .length(let length): return length
        case .malformed: throw MalformedHTTP2Response("an invalid content-length")
        }
    }

    /// A malformed response: the stream is reset with PROTOCOL_ERROR (RFC 9113 §8.1.1), or
    /// FLOW_CONTROL_ERROR past its window, and the exchange fails saying why (502).
    private func malformed(_ error: Error) {
        let exchange = self.exchange
        self.exchange = nil
        reset((error as? MalformedHTTP2Response)?.code ?? .protocolError)
        exchange?.upstreamError(error)
    }

    /// The parts one frame carried: to the exchange now, or held behind what waits already
    /// (or while the client cannot take more). A frame's parts are never split.
    private func deliver(_ first: UpstreamResponsePart, _ second: UpstreamResponsePart?, bytes: Int) {
        if readsHeld || held?.isEmpty == false {
            // An interim head (no flow control bounds them) is dropped while the client
            // cannot take more: a proxy may, and an upstream could send them without end.
            if case .head(let head) = first, head.status.code < 200 { return }
            if held == nil { held = CircularBuffer(initialCapacity: 4) }
            held?.append((first, bytes))
            if let second { held?.append((second, 0)) }
            receiveWindow.hold(bytes)
        } else {
            let now = connection.now()
            exchange?.upstreamResponse(first, now: now)
            if let second { exchange?.upstreamResponse(second, now: now) }
            connection.readTouched(self)
        }
        returnWindow()
    }

    /// Tops the receive window up (``HTTP2ReceiveWindow``), counting held bytes as still the
    /// upstream's.
    private func returnWindow() {
        guard !responseEnded, !isClosed, let id, let increment = receiveWindow.update() else { return }
        connection.windowUpdate(increment, stream: id)
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

    /// A frame of this stream went out (`bytes` of DATA; `endStream`: the request's end); true
    /// when that took the request back under the low watermark (the exchange hears it from
    /// ``writableAgain()``).
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

/// An upstream's HTTP/2 response that breaks the rules for a message (RFC 9113 §8.1.1) or for
/// its stream's window: the stream is reset with `code`, and the client gets a 502 saying why.
struct MalformedHTTP2Response: Error, CustomStringConvertible {
    let reason: String
    let code: HTTP2ErrorCode

    init(_ reason: String, code: HTTP2ErrorCode = .protocolError) {
        self.reason = reason
        self.code = code
    }

    var description: String { "malformed HTTP/2 response: \(reason)" }
}
