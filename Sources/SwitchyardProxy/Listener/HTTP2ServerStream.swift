import NIOCore
import NIOHTTP1
import NIOHTTP2

/// One stream of a client's HTTP/2 connection: its ``HTTP2ServerConnection`` hands it the
/// stream's frames, it turns them into request parts for an ``Exchange`` (routing the head as
/// ``ProxyServerHandler`` does), and writes the response back as frames. No channel or
/// pipeline of its own.
///
/// Backpressure both ways is flow control. A request's DATA the exchange cannot take yet is
/// held, and its bytes stay out of the stream's receive window until it is taken, so the
/// client can send at most a window ahead. The response reads as unwritable while more of it
/// than the high watermark waits for the client's window.
///
/// A request whose DATA does not add up to its `content-length`, or that sends DATA past the
/// stream's window, is malformed (RFC 9113 §8.1.1, §6.9.1): the stream is reset, and the
/// connection counts it (``HTTP2ServerConnection/streamError(_:_:)``); a `content-length` that
/// does not match counts as a malformed request too.
final class HTTP2ServerStream: RequestOrigin, HTTP2TableStream, HTTP2SendingStream {
    let id: HTTP2StreamID
    var openID: HTTP2StreamID? { id }
    private unowned let connection: HTTP2ServerConnection
    /// The client's send window for the response, and what waits for it.
    var queue: HTTP2SendQueue
    private var exchange: Exchange?
    /// Whether the request is a HEAD (an answer the proxy writes then has no body).
    private var isHead = false
    /// Set while the connection's read under way owes this stream's exchange a flush upstream.
    var isTouched = false
    /// Set by the request's first field block; a later one is its trailer section.
    private var headRead = false
    /// True until the request's END_STREAM came (even while its parts are held).
    private(set) var requestOpen = true
    /// What the request's `content-length` lets its DATA add up to.
    private var contentLength = HTTP2ContentLength()
    /// Set once the response's END_STREAM went out.
    private(set) var responseEndSent = false
    /// Set when the response ended while the request had not: once the end is out, the stream
    /// is reset with NO_ERROR.
    private var resetWhenEnded = false
    /// Set once the stream closed (both ways ended, or a reset either way): nothing more is
    /// written or routed.
    private(set) var isClosed = false
    /// Request parts the exchange could not take yet, in order, with each DATA frame's
    /// flow-controlled bytes; made on the first (most requests never wait).
    private var held: CircularBuffer<(part: RequestPart, bytes: Int)>?
    /// The stream's receive window as the client sees it, `held`'s bytes kept out of it.
    private var receiveWindow = HTTP2StreamReceiveWindow()
    /// Response body kept back until the next part or flush, so the response's end can ride
    /// on its DATA frame instead of an empty one after it.
    private var pendingBody: ByteBuffer?
    /// Response body written and not yet on the wire: in `pendingBody`, or in NIO's
    /// flow-control buffer waiting for the client's window.
    private var watermark = HTTP2SendWatermark()
    /// Since when the response's end waits for the client's window (nil once it went out):
    /// the connection resets the stream when that wait reaches `timeouts.keepAlive`
    /// (``HTTP2ServerConnection/responseEndWaits(since:)``). Nothing else bounds it: the
    /// exchange is over.
    private(set) var endWaitingSince: NIODeadline?

    init(id: HTTP2StreamID, connection: HTTP2ServerConnection, window: Int) {
        self.id = id
        self.connection = connection
        queue = HTTP2SendQueue(window: window)
    }

    // MARK: Frames in

    /// A field block: the request's head (and its end, with END_STREAM), or its trailers. A
    /// malformed block resets the stream with PROTOCOL_ERROR (RFC 9113 §8.1.1): a head is never
    /// routed, and malformed trailers end the exchange. The connection counts them.
    func received(_ block: HTTP2ReceivedFields, endStream: Bool) {
        guard !isClosed else { return }
        if endStream { requestOpen = false }
        do {
            guard !headRead else {
                guard endStream, contentLength.received(0, end: true) else { return malformed() }
                receivedParts(.end(try HTTP2Fields.trailers(block)), nil, bytes: 0)
                return
            }
            headRead = true
            let head = try HTTP2Fields.requestHead(block, endStream: endStream)
            if case .length(let length) = RequestBodyFraming.contentLength(of: head.fields) {
                contentLength = HTTP2ContentLength(length)
                guard contentLength.received(0, end: endStream) else { return malformed() }
            }
            guard !head.method.isCONNECT else {
                // RFC 9113 §8.5: the proxy carries no tunnels.
                answer(head, with: .invalidRequest(.notImplemented, "CONNECT is not supported"), isGRPC: false, on: connection.slot)
                return
            }
            receivedParts(.head(head), endStream ? .end(nil) : nil, bytes: 0)
        } catch {
            malformed()
        }
    }

    /// A DATA frame: body bytes (and the request's end, with END_STREAM); `flowControlled` is
    /// what it took of the receive window.
    func received(_ bytes: ByteBuffer, endStream: Bool, flowControlled: Int) {
        receiveWindow.received(flowControlled)
        if endStream { requestOpen = false }
        guard !isClosed else { return }
        guard !receiveWindow.isOverdrawn else { return connection.streamError(self, .flowControlError) }
        guard contentLength.received(bytes.readableBytes, end: endStream) else { return malformed() }
        let parts: (first: RequestPart, second: RequestPart?) = HTTP2Fields.parts(of: bytes, endStream: endStream)
        receivedParts(parts.first, parts.second, bytes: flowControlled)
    }

    /// A malformed request: reset with PROTOCOL_ERROR, and counted by the connection.
    private func malformed() {
        connection.streamError(self, .protocolError)
        connection.malformedBlockRefused()
    }

    /// The parts one frame carried: handled now, or held behind what waits already (or while
    /// the exchange cannot take a body). A frame's parts are never split.
    private func receivedParts(_ first: RequestPart, _ second: RequestPart?, bytes: Int) {
        if held?.isEmpty == false || (exchange?.holdsClientReads ?? false) {
            if held == nil { held = CircularBuffer(initialCapacity: 4) }
            held?.append((first, bytes))
            if let second { held?.append((second, 0)) }
            receiveWindow.hold(bytes)
        } else {
            handle(first)
            if let second { handle(second) }
        }
        returnWindow()
    }

    private func handle(_ part: RequestPart) {
        guard !isClosed else { return }
        switch part {
        case .head(let head):
            isHead = head.method.isHEAD
            guard let exchange = route(head, on: connection.slot) else { return }  // a stream has no connection to close
            self.exchange = exchange
            exchange.begin()
        case .body, .end:
            exchange?.requestPart(part)  // without an exchange (an answered request) it is dropped
        }
    }

    /// Tops the receive window up (``HTTP2ReceiveWindow``), counting held bytes as still the
    /// client's (they are given back only once taken). A body nobody takes (the request was
    /// answered, or its exchange ended) gets no more window: the client can send one window's
    /// worth, which is dropped.
    private func returnWindow() {
        guard requestOpen, !isClosed, exchange != nil, let increment = receiveWindow.update() else { return }
        connection.windowUpdate(increment, stream: id)
    }

    /// The read that delivered request parts ended: they go upstream in one flush.
    func readCompleted() {
        exchange?.flushUpstream()
    }

    // MARK: Stream events

    /// The stream closed: both ways ended, or a reset either way. An exchange still running
    /// ends (the client is gone); nothing held is delivered.
    func closed() {
        isClosed = true
        held = nil
        pendingBody = nil
        guard let exchange else { return }
        self.exchange = nil
        exchange.clientGone()
    }

    /// A frame of the response went out (`bytes` of DATA; `endStream`: its end); true when that
    /// took the response back under the low watermark (the exchange hears it from
    /// ``writableAgain()``). An answer that ended before its request did resets the stream
    /// now, with NO_ERROR (RFC 9113 §8.1): the answer is whole, the rest of the body unwanted.
    func sent(bytes: Int, endStream: Bool) -> Bool {
        if endStream {
            responseEndSent = true
            endWaitingSince = nil
            if resetWhenEnded, requestOpen { reset(.noError) }
        }
        return watermark.sent(bytes)
    }

    /// The response went back under the low watermark earlier in this pass.
    func writableAgain() {
        guard watermark.isBelow, !isClosed, connection.isWritable else { return }
        exchange?.clientWritabilityChanged(true)
    }

    /// The connection's socket became writable, or stopped being.
    func connectionWritabilityChanged(_ writable: Bool) {
        guard watermark.isBelow else { return }
        exchange?.clientWritabilityChanged(writable)
    }

    /// Resets the stream with `code`: it is closed from now on, and its exchange ends.
    func reset(_ code: HTTP2ErrorCode) {
        guard !isClosed else { return }
        connection.reset(self, code)
    }

    // MARK: ExchangeClient

    var version: HTTPVersion { .http2 }
    /// Inside the connection's read (what the exchange defers then, the read's end flushes).
    var isReading: Bool {
        let connection = self.connection  // one strong load for both uses, not one each
        guard connection.isReading else { return false }
        connection.readTouched(self)
        return true
    }
    var isWritable: Bool { watermark.isBelow && !isClosed && connection.isWritable }
    var clientAddress: String { connection.clientAddress }
    func now() -> NIODeadline { connection.now() }

    func writeResponseHead(_ head: ResponseHead) {
        guard !isClosed else { return }
        connection.send(.headers(HTTP2Fields.responseBlock(head), endStream: false), on: self)
    }

    func writeContinue() -> Bool {
        writeResponseHead(ResponseHead(version: .http2, status: .continue))
        connection.flush()
        return !isClosed
    }

    func writeResponseBody(_ bytes: ByteBuffer) {
        guard !isClosed else { return }
        writePendingBody()
        pendingBody = bytes
        watermark.queued(bytes.readableBytes)
    }

    /// Writes the response's end: on the last DATA frame, or as trailers. A request still
    /// being sent is then reset with NO_ERROR once the end is out (``sent(bytes:endStream:)``);
    /// a reset any sooner would drop what still waits for the client's window.
    func writeResponseEnd(_ trailers: HTTPHeaders?) {
        guard !isClosed else { return }
        let connection = self.connection  // one strong load for every use, not one each
        resetWhenEnded = requestOpen
        if let trailers {
            writePendingBody()
            connection.send(.headers(HTTP2Fields.trailerBlock(trailers), endStream: true), on: self)
        } else {
            let body = pendingBody ?? ByteBuffer()
            pendingBody = nil
            connection.send(.data(body, endStream: true), on: self)
        }
        if !responseEndSent, !isClosed {
            // The end waits for the client's window (RFC 9113 §5.2): a client that never opens
            // it would hold the stream, and the response's bytes, for the connection's life.
            let now = connection.now()
            endWaitingSince = now
            connection.responseEndWaits(since: now)
        }
        connection.flushResponseEnd()
    }

    func flushResponse() {
        writePendingBody()
        connection.flush()
    }

    private func writePendingBody() {
        guard let body = pendingBody else { return }
        pendingBody = nil
        connection.send(.data(body, endStream: false), on: self)
    }

    func respond(with error: SyntheticError, isGRPC: Bool) {
        let response = error.response(isGRPC: isGRPC, version: .http2, allocator: connection.allocator)
        writeResponseHead(response.head)
        if let body = response.body, !isHead { writeResponseBody(body) }
        writeResponseEnd(response.trailers)
    }

    func closeClient() {
        reset(.cancel)
    }

    /// The exchange ended: request DATA still held is dropped (nobody will take it).
    func exchangeFinished(_ finished: Exchange, at now: NIODeadline) {
        guard exchange === finished else { return }
        exchange = nil
        held = nil
        receiveWindow.dropHeld()
    }

    func resumeReadsIfPossible() {
        guard let first = held?.first, !(exchange?.holdsClientReads ?? false) else { return }
        var next: (part: RequestPart, bytes: Int)? = first
        while let part = next {
            held?.removeFirst()
            receiveWindow.take(part.bytes)
            handle(part.part)
            next = exchange?.holdsClientReads ?? false ? nil : held?.first
        }
        if !isReading { exchange?.flushUpstream() }
        returnWindow()
    }
}
