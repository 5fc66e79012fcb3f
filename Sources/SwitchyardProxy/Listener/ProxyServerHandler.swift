import NIOCore
import NIOHTTP1

/// The last handler of an HTTP/1.x client connection (an HTTP/2 connection's streams are
/// ``HTTP2ServerStream``s). It reads, writes and keeps order: each request head goes to its
/// loop's ``RequestRouter``, and the decision is either answered here or handed to a new
/// ``Exchange`` at its backend; pipelined requests wait until the response before them ends.
/// It knows nothing of routes.
final class ProxyServerHandler: ChannelDuplexHandler, RequestOrigin {
    typealias InboundIn = RequestPart
    typealias OutboundIn = ClientResponsePart
    typealias OutboundOut = ClientResponsePart

    let slot: LoopSlot
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    /// What the connection's persistence needs of the request being answered; dropped once
    /// its response ended.
    private var persistence: ConnectionPersistence?
    /// The HTTP version of the last request (responses, and answers between requests, use it).
    private(set) var version: HTTPVersion = .http1_1
    /// True from a request's head until its end was read.
    private var requestOpen = false
    /// Set once the connection closed: nothing more is routed.
    private var isClosed = false
    /// Set when the connection closes after the current answer: a refused request,
    /// a drain, a stalled body, an HTTP/1.0 response without a length.
    private var closeAfterResponse = false
    /// Set by a drain (`ChannelShouldQuiesceEvent`): responses say `Connection: close`.
    private var draining = false
    private var readPending = false
    private(set) var isReading = false
    /// Pipelined request parts that arrived while an earlier response was still going.
    /// Made on the first (an empty NIO `CircularBuffer` allocates).
    private var backlog: CircularBuffer<RequestPart>?
    /// The connection's client-side timeouts (``ProxyServerHandler+Timeouts``), told of each
    /// read, request and response.
    var timeouts: ClientTimeoutStateMachine
    var timeoutTimer: Scheduled<Void>?
    /// The time of the client read under way (``ReadClock``).
    var clock = ReadClock()
    /// The connection's response encoder, told which request each response answers.
    private let responseEncoder: ClientResponseEncoder
    /// Bytes the decoder could not parse, read behind whole requests still being answered:
    /// their 400 waits for those answers, and nothing more is read.
    private var malformed: MalformedHTTP1?

    init(slot: LoopSlot, responseEncoder: ClientResponseEncoder) {
        self.slot = slot
        self.responseEncoder = responseEncoder
        let config = slot.state.table.config.timeouts
        timeouts = ClientTimeoutStateMachine(
            requestHeader: TimeAmount(config.requestHeader), keepAlive: TimeAmount(config.keepAlive),
            requestBodyIdle: TimeAmount(config.requestBodyIdle), now: slot.state.eventLoop.now)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Added to a connection that is already active (behind the protocol detector).
        startTimeouts()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        stopTimeouts()
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }
    private(set) lazy var clientAddress = AccessLogEntry.client(context?.channel.remoteAddress)

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received(unwrapInboundIn(data))
    }

    /// A request part: from the pipeline, or straight from the connection's
    /// ``ClientRequestDecoder`` over HTTP/1.x (no pipeline hop or boxing).
    func received(_ part: RequestPart) {
        isReading = true
        if backlog?.isEmpty == false || (exchange != nil && Self.isHead(part)) {
            if backlog == nil { backlog = CircularBuffer(initialCapacity: 4) }
            backlog?.append(part)
        } else {
            handle(part)
        }
    }

    private static func isHead(_ part: RequestPart) -> Bool {
        if case .head = part { return true }
        return false
    }

    private func handle(_ part: RequestPart) {
        guard !isClosed else { return }
        switch part {
        case .head(let head):
            persistence = ConnectionPersistence(request: head)
            version = head.version
            requestOpen = true
            timeoutsSaw(.started)
            start(head)
        case .body:
            exchange?.requestPart(part)  // without an exchange (an answered request) it is dropped
        case .end:
            requestOpen = false
            timeoutsSaw(.ended)
            exchange?.requestPart(part)
        }
    }

    /// Routes a request and answers it or hands it to an exchange.
    private func start(_ head: RequestHead) {
        // Marked before the answer is written: writing its end decides whether the connection closes.
        guard let exchange = route(head, on: slot, willClose: { closeAfterResponse = true }) else { return }
        self.exchange = exchange
        exchange.begin()
    }

    /// Writes and flushes `100 Continue` (``RequestOrigin``).
    func writeContinue() -> Bool {
        send(.head(ResponseHead(version: version, status: .continue)), flush: true)
        return !isClosed  // a failed write closed the connection
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readBatchComplete()
    }

    /// The read batch ended: from the pipeline, or straight from the ``ClientRequestDecoder``.
    func readBatchComplete() {
        isReading = false
        exchange?.flushUpstream()
        readBatchEnded()
    }

    private var backlogCount: Int { backlog?.count ?? 0 }

    func read(context: ChannelHandlerContext) {
        if malformed != nil || backlogCount >= BuiltInLimits.pipelinedParts || (exchange?.holdsClientReads ?? false) {
            readPending = true
        } else {
            readsResumed()
            responseEncoder.read()
        }
    }

    func resumeReadsIfPossible() {
        guard readPending, malformed == nil, context != nil, backlogCount < BuiltInLimits.pipelinedParts, !(exchange?.holdsClientReads ?? false) else { return }
        readPending = false
        readsResumed()
        responseEncoder.read()
    }

    // MARK: Connection events

    func channelInactive(context: ChannelHandlerContext) {
        stopTimeouts()
        markClosed()
        context.fireChannelInactive()
    }

    /// A request the decoder could not parse (HTTP/1.x) is answered 400, after the whole
    /// requests read before it are answered; then, as after any error, the connection closes.
    /// Unparseable bytes inside a request (its body) only close it.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? MalformedHTTP1, !isClosed, context.channel.isActive, requestsAreWhole {
            guard exchange == nil, backlogCount == 0 else {
                malformed = error
                readPending = true
                return
            }
            answer(malformed: error)
        }
        markClosed()
        context.close(promise: nil)
    }

    /// Whether every request read so far was read to its end.
    private var requestsAreWhole: Bool {
        guard let last = backlog?.last else { return !requestOpen }
        if case .end = last { return true }
        return false
    }

    /// Writes the 400 for bytes the decoder could not parse (the caller closes).
    private func answer(malformed error: MalformedHTTP1) {
        answerBetweenRequests(.invalidRequest(.badRequest, "malformed request: \(error)"))
    }

    /// Answers `answer` with `Connection: close` where no request is being answered (the
    /// caller closes).
    private func answerBetweenRequests(_ answer: SyntheticError) {
        persistence = nil
        closeAfterResponse = true
        var answer = answer
        answer.headers = [("connection", "close")]
        respond(with: answer, isGRPC: false)
    }

    /// A request head did not arrive within `timeouts.requestHeader`: 408, then close.
    func requestHeadTimedOut() {
        answerBetweenRequests(.invalidRequest(.requestTimeout, "request header timeout"))
        markClosed()
        context?.close(promise: nil)
    }

    /// The request body stalled for `timeouts.requestBodyIdle`: the request fails with 408 and
    /// the connection closes.
    func requestBodyStalled() {
        closeAfterResponse = true
        if let exchange { exchange.clientBodyStalled() } else { context?.close(promise: nil) }
    }

    /// The connection is gone: end the exchange, drop what was pipelined behind it.
    private func markClosed() {
        isClosed = true
        backlog = nil
        exchange?.clientGone()
        exchange = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            draining = true
            drainTimeouts()
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Writing (ExchangeClient)

    /// Writes a final response head with the connection's own `Connection` header
    /// (``ConnectionPersistence``).
    func writeResponseHead(_ head: ResponseHead) {
        var head = head
        if let persistence {
            responseEncoder.answering(persistence.method)
            let decision = persistence.decide(response: head, draining: draining)
            if let connection = decision.connection { head.fields.replaceOrAdd(name: "connection", value: connection) }
            if decision.close { closeAfterResponse = true }
        }
        send(.head(head))
    }

    func writeResponseBody(_ bytes: ByteBuffer) {
        send(.body(.byteBuffer(bytes)))
    }

    func writeResponseEnd(_ trailers: HTTPHeaders?) {
        send(.end(trailers), flush: true)
    }

    func flushResponse() {
        responseEncoder.flush()
    }

    /// Writes a response part (and flushes when asked) straight into the connection's
    /// ``ClientResponseEncoder``, with no pipeline hop or boxing.
    private func send(_ part: ClientResponsePart, flush: Bool = false) {
        responseEncoder.write(part, promise: nil)
        if flush { responseEncoder.flush() }
    }

    func respond(with error: SyntheticError, isGRPC: Bool) {
        guard let context else { return }
        let response = error.response(isGRPC: isGRPC, version: version, allocator: context.channel.allocator)
        writeResponseHead(response.head)
        if let body = response.body { writeResponseBody(body) }
        writeResponseEnd(response.trailers)
        finishResponse()
    }

    func closeClient() {
        context?.close(promise: nil)
    }

    func exchangeFinished(_ finished: Exchange, at now: NIODeadline) {
        guard exchange === finished else { return }
        exchange = nil
        finishResponse(at: now)
        // Replay pipelined requests until one of them is in flight again (or the response's
        // end closed the connection).
        while !isClosed, let part = backlog?.first, exchange == nil || !Self.isHead(part) {
            backlog?.removeFirst()
            handle(part)
        }
        if let malformed, !isClosed, exchange == nil, backlogCount == 0 {
            answer(malformed: malformed)
            markClosed()
            context?.close(promise: nil)
            return
        }
        resumeReadsIfPossible()
    }

    /// A response ended (at `now`, when the caller knows it): the connection closes when it
    /// must, or waits for the next.
    private func finishResponse(at now: NIODeadline? = nil) {
        guard let persistence else { return }
        if closeAfterResponse || !persistence.requestKeepsAlive {
            context?.close(promise: nil)
        } else {
            timeoutsSaw(.responseEnded, at: now)
            self.persistence = nil
        }
    }
}
