import NIOCore
import NIOHTTP1
import SwitchyardCore

/// One proxied request, from the moment routing chose a backend until its response ends:
/// it queues, gets an endpoint and an upstream channel, streams the request body up and the
/// response down with backpressure both ways, and records the endpoint's RTT.
///
/// Lives on the client connection's event loop; every method runs there.
final class Exchange {
    enum State {
        case routing
        case queued(BackendRuntime)
        case connecting(EndpointRuntime)
        case proxying(EndpointRuntime)
        case done
    }

    private unowned let server: ProxyServerHandler
    let eventLoop: EventLoop
    /// The request head as it will be sent upstream (filters applied, hop-by-hop removed;
    /// framing headers are written by ``framing`` when it is sent).
    private(set) var requestHead: HTTPRequestHead
    /// How the body goes upstream.
    private var framing: RequestBodyFraming
    /// Whether the head went upstream (an HTTP/2 request without a length waits for its
    /// first part to decide its framing).
    private var headSent = false
    /// Whether errors answer in gRPC form (and statuses count as gRPC statuses).
    let isGRPC: Bool
    /// The route backend's series.
    private let metrics: RouteBackendMetrics
    var state: State = .routing
    private var pending = CircularBuffer<HTTPServerRequestPart>()
    private var requestEnded = false
    private var upstream: UpstreamConnection?
    private var dispatchedAt: UInt64 = 0
    /// The route's timeouts (a gRPC request's `grpc-timeout` already folded into `request`).
    private let timeouts: RouteTimeouts
    /// Whether `request` is the client's `grpc-timeout` (shorter than the route's own).
    private let clientChoseDeadline: Bool
    private let routedAt: NIODeadline
    /// When the request went upstream (the response timeout runs from there).
    private var sentAt: NIODeadline?
    /// The last byte either way (the idle timeout runs from there).
    private var lastActivity: NIODeadline
    /// The loop's watchdog, and this exchange's slot there while its bounds run.
    private let watchdog: ExchangeWatchdog
    private var watchSlot: Int?
    private var sawFirstByte = false
    private var responseStarted = false
    /// Whether the upstream's reads are held because the client is not reading.
    private var heldByClient = false
    /// Whether the upstream connection may carry another request after this response: it
    /// said keep-alive and the response's length was framed (not delimited by close).
    private var upstreamKeepAlive = true
    /// gRPC status fields of a trailers-only upstream response, sent downstream as trailers.
    private var trailersOnly: HTTPHeaders?
    /// Whether this request is its endpoint's failure-accrual probe.
    var isProbe = false
    private var responseStatus = 0
    private var grpcStatus: Int?
    /// gRPC codes that count as failures (DESIGN.md §5): UNKNOWN, DEADLINE_EXCEEDED,
    /// PERMISSION_DENIED, INTERNAL, UNAVAILABLE, DATA_LOSS.
    private static let failingGRPCCodes: Set<Int> = [2, 4, 7, 13, 14, 15]

    init(
        server: ProxyServerHandler, eventLoop: EventLoop, requestHead: HTTPRequestHead, framing: RequestBodyFraming, isGRPC: Bool,
        timeouts: RouteTimeouts, clientChoseDeadline: Bool, watchdog: ExchangeWatchdog, metrics: RouteBackendMetrics
    ) {
        self.watchdog = watchdog
        self.timeouts = timeouts
        self.clientChoseDeadline = clientChoseDeadline
        let now = NIODeadline.now()
        self.routedAt = now
        self.lastActivity = now
        self.server = server
        self.eventLoop = eventLoop
        self.requestHead = requestHead
        self.framing = framing
        self.isGRPC = isGRPC
        self.metrics = metrics
        HopByHop.strip(&self.requestHead.headers)
        self.requestHead.version = .http1_1
        if let next = nextDeadline { watchSlot = watchdog.watch(self, until: next.deadline) }
    }

    /// Whether the client's reads should wait: nothing can take the body yet, or the
    /// upstream is not writable.
    var holdsClientReads: Bool {
        guard let upstream else { return !requestEnded }
        return !upstream.channel.isWritable
    }

    // MARK: Request side

    /// A body part or the end of the request, from the client.
    func requestPart(_ part: HTTPServerRequestPart) {
        guard !requestEnded else { return }
        if case .end = part { requestEnded = true }
        lastActivity = .now()
        framing.decide(firstPart: part)
        guard let upstream else {
            pending.append(part)
            return
        }
        if !headSent { sendHead(to: upstream) }
        // Inside a client read, the read-complete flushes once for all parts.
        forward(part, to: upstream, flush: !server.isReading)
    }

    /// Sends the head with the proxy's own framing.
    private func sendHead(to upstream: UpstreamConnection) {
        headSent = true
        var head = requestHead
        framing.apply(to: &head.headers, http1: upstream.isPooled)
        upstream.handler.write(.head(head), flush: false)
    }

    private func forward(_ part: HTTPServerRequestPart, to upstream: UpstreamConnection, flush: Bool) {
        switch part {
        case .head: break
        case .body(let bytes):
            // A body the framing says is not there (no length, no chunking) never goes upstream.
            if framing != .none { upstream.handler.write(.body(.byteBuffer(bytes)), flush: flush) }
        case .end(let trailers): upstream.handler.write(.end(trailers), flush: flush)
        }
    }

    /// The client's read ended: send what it delivered.
    func flushUpstream() {
        upstream?.handler.flush()
    }

    /// An upstream channel is ready for this request: send the head and what was buffered.
    func attach(_ connection: UpstreamConnection) {
        guard case .connecting(let endpoint) = state else {
            // The client went away while it connected: nothing will use it.
            connection.channel.close(promise: nil)
            return
        }
        state = .proxying(endpoint)
        upstream = connection
        connection.handler.exchange = self
        let now = NIODeadline.now()
        dispatchedAt = now.uptimeNanoseconds
        sentAt = now
        if let response = timeouts.response {
            // The response bound starts now: it may be the nearest (or the only) one.
            let deadline = now + TimeAmount(response)
            if watchSlot == nil { watchSlot = watchdog.watch(self, until: deadline) } else { watchdog.deadlineMoved(to: deadline) }
        }
        // An HTTP/2 request whose framing is not known yet has nothing pending either (reads
        // were held until now). An HTTP/2 upstream frames it by itself: the head goes now (a
        // gRPC client may wait for the server's first message). An HTTP/1.1 upstream waits for
        // the first part to choose no body or chunked.
        guard framing != .undecided || !connection.isPooled else {
            server.resumeReadsIfPossible()
            return
        }
        sendHead(to: connection)
        while let part = pending.popFirst() {
            forward(part, to: connection, flush: false)
        }
        if !server.isReading { connection.handler.flush() }
        server.resumeReadsIfPossible()
    }

    /// The upstream could not be reached.
    func connectFailed(_ error: Error) {
        guard case .connecting(let endpoint) = state else { return }
        endpoint.health?.record(failure: true)
        endpoint.logger.debug("connect failed: \(Self.reason(error))")
        fail(.badGateway(endpoint.backend.map { $0.describe("connect to \(endpoint.config.address) failed: \(Self.reason(error))") } ?? "\(error)"))
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        if writable { server.resumeReadsIfPossible() }
    }

    // MARK: Response side

    /// A response part from the upstream.
    func upstreamResponse(_ part: HTTPClientResponsePart) {
        guard case .proxying(let endpoint) = state else { return }
        if case .end = part {} else { lastActivity = .now() }  // the end settles the exchange
        switch part {
        case .head(var head):
            if head.status.code < 200 { return }  // the proxy sent no Expect; ignore stray 1xx
            responseStarted = true
            responseStatus = Int(head.status.code)
            upstreamKeepAlive = head.isKeepAlive && Self.isFramed(head, request: requestHead)
            HopByHop.strip(&head.headers)
            head.version = server.clientVersion
            if head.headers.contains(name: "grpc-status") {
                // A trailers-only gRPC response: the HTTP/2-to-HTTP/1 codec delivers its single
                // HEADERS frame as a head; its status belongs in the trailers downstream.
                var trailers = HTTPHeaders()
                for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
                    for value in head.headers[name] { trailers.add(name: name, value: value) }
                    head.headers.remove(name: name)
                }
                head.headers.remove(name: "content-length")
                grpcStatus = trailers.first(name: "grpc-status").flatMap { Int($0) }
                trailersOnly = trailers
            }
            server.writeResponseHead(head, flush: false)
        case .body(let bytes):
            recordFirstByte(endpoint)
            server.writeResponse(.body(.byteBuffer(bytes)), flush: false)
            if !server.isClientWritable { holdUpstream(true) }
        case .end(let trailers):
            recordFirstByte(endpoint)
            if let status = trailers?.first(name: "grpc-status") { grpcStatus = Int(status) }
            // Settle the upstream side first: writing the end may close an HTTP/2 stream at
            // once, and the client side's close must find nothing left to abandon.
            complete(endpoint)
            server.writeResponseEnd(trailers ?? trailersOnly)
            server.exchangeFinished(self)
        }
    }

    /// Whether a response's end is known without the connection closing (RFC 9112 §6.3): a
    /// length, chunking, or a status or method that has no body.
    private static func isFramed(_ head: HTTPResponseHead, request: HTTPRequestHead) -> Bool {
        if request.method == .HEAD || head.status.code == 204 || head.status.code == 304 { return true }
        return head.headers.contains(name: "content-length") || head.headers[canonicalForm: "transfer-encoding"].last?.lowercased() == "chunked"
    }

    private func recordFirstByte(_ endpoint: EndpointRuntime) {
        guard !sawFirstByte else { return }
        sawFirstByte = true
        let now = NIODeadline.now().uptimeNanoseconds
        endpoint.observe(rttNanoseconds: now &- dispatchedAt, now: now)
    }

    /// The upstream's read ended: send the client what it delivered.
    func upstreamReadComplete() {
        server.flushResponse()
    }

    /// The client can take more again.
    func clientWritabilityChanged(_ writable: Bool) {
        holdUpstream(!writable)
    }

    private func holdUpstream(_ hold: Bool) {
        heldByClient = hold
        upstream?.handler.holdReads(hold)
    }

    private func complete(_ endpoint: EndpointRuntime) {
        state = .done
        unwatch()
        record(.none)
        endpoint.requestFinished()
        // A 5xx or a failing gRPC status is a failure; a 429, or no grpc-status, is not.
        let failed = responseStatus >= 500 || grpcStatus.map { Self.failingGRPCCodes.contains($0) } ?? false
        endpoint.health?.record(failure: failed)
        if let upstream {
            self.upstream = nil
            upstream.handler.exchange = nil
            upstream.handler.holdReads(false)
            if upstream.isPooled, requestEnded, upstreamKeepAlive {
                endpoint.release(upstream)
            } else {
                upstream.channel.close(promise: nil)
            }
        }
    }

    /// The upstream channel closed.
    func upstreamClosed() {
        guard case .proxying(let endpoint) = state else { return }
        endpoint.health?.record(failure: true)
        endpoint.logger.debug("upstream closed the connection before the response ended")
        upstream = nil
        fail(.badGateway(describeInBackend("upstream closed the connection before the response ended")))
    }

    /// The request could not be written upstream (a header NIO refuses to send): the proxy's
    /// failure, never counted against the endpoint.
    func requestUnsendable(_ error: Error) {
        guard case .proxying(let endpoint) = state else { return }
        if isProbe { endpoint.health?.releaseProbe() }
        endpoint.logger.warning("request could not be sent upstream: \(Self.reason(error))")
        fail(.badGateway(describeInBackend("the request could not be sent upstream: \(Self.reason(error))")))
    }

    /// The upstream channel failed.
    func upstreamError(_ error: Error) {
        guard case .proxying(let endpoint) = state else { return }
        endpoint.health?.record(failure: true)
        endpoint.logger.debug("upstream error: \(Self.reason(error))")
        fail(.badGateway(describeInBackend("upstream error: \(Self.reason(error))")))
    }

    private func describeInBackend(_ message: String) -> String {
        switch state {
        case .proxying(let endpoint), .connecting(let endpoint): endpoint.backend?.describe(message) ?? message
        case .queued(let backend): backend.describe(message)
        default: message
        }
    }

    // MARK: Timeouts

    /// The nearest bound still running, and what it means.
    var nextDeadline: (deadline: NIODeadline, cause: ResponseError)? {
        var nearest: (deadline: NIODeadline, cause: ResponseError)?
        func consider(_ deadline: NIODeadline, _ cause: ResponseError) {
            if nearest.map({ deadline < $0.deadline }) ?? true { nearest = (deadline, cause) }
        }
        if let request = timeouts.request { consider(routedAt + TimeAmount(request), .requestTimeout) }
        if let response = timeouts.response, let sentAt, !responseStarted { consider(sentAt + TimeAmount(response), .responseHeadersTimeout) }
        if let idle = timeouts.idle { consider(lastActivity + TimeAmount(idle), .idleTimeout) }
        return nearest
    }

    /// Leaves the watchdog (every way an exchange ends does: it holds the exchange until then).
    private func unwatch() {
        if let watchSlot { watchdog.unwatch(slot: watchSlot) }
        watchSlot = nil
    }

    /// The watchdog found this exchange's nearest bound passed.
    func deadlinePassed() {
        if case .done = state { return }
        guard let next = nextDeadline else { return }
        let what: String =
            switch next.cause {
            case .requestTimeout: "request timeout"
            case .responseHeadersTimeout: "response timeout"
            default: "idle timeout"
            }
        switch state {
        case .connecting(let endpoint), .proxying(let endpoint):
            if endpointIsLate(next.cause) {
                // The endpoint had the whole request and did not answer in time: a failure, as a 5xx.
                endpoint.health?.record(failure: true)
                endpoint.logger.debug("\(what): the endpoint did not answer in time")
            } else if isProbe {
                endpoint.health?.releaseProbe()
            }
        default:
            break
        }
        fail(.timeout(next.cause, describeInBackend(what)))
    }

    /// Whether a timeout is the endpoint's doing, so it counts against its breaker: a route
    /// bound ran out while the endpoint had the whole request and the client was reading; for
    /// the `request` bound, only the route's own (not a client's `grpc-timeout`, which can be
    /// anything) and only before any response came. A client still sending, or not reading, is
    /// not the endpoint's doing.
    private func endpointIsLate(_ cause: ResponseError) -> Bool {
        guard requestEnded, !heldByClient else { return false }
        switch cause {
        case .responseHeadersTimeout, .idleTimeout: return true
        case .requestTimeout: return !clientChoseDeadline && !responseStarted
        default: return false
        }
    }

    /// The client stopped sending its body (`timeouts.requestBodyIdle`): 408, and the client
    /// connection closes. The endpoint is not at fault.
    func clientBodyStalled() {
        if case .done = state { return }
        switch state {
        case .connecting(let endpoint), .proxying(let endpoint): if isProbe { endpoint.health?.releaseProbe() }
        default: break
        }
        fail(.requestBodyTimeout(describeInBackend("request body timeout")))
    }

    // MARK: Ending

    /// Ends the exchange with a synthetic error (or, once a response has started, by closing
    /// the client connection: a partial response cannot be turned into an error).
    func fail(_ error: SyntheticError) {
        record(error.cause)
        let wasStarted = responseStarted
        abandon()
        if wasStarted {
            server.closeClient()
        } else {
            server.respond(with: error, isGRPC: isGRPC)
        }
        server.exchangeFinished(self)
    }

    /// The client went away: stop everything, return nothing to pools. A probe that ends
    /// without an outcome frees the probe for the next request.
    func clientGone() {
        switch state {
        case .connecting(let endpoint), .proxying(let endpoint):
            if isProbe { endpoint.health?.releaseProbe() }
        default: break
        }
        if case .done = state {} else { record(.cancel) }
        abandon()
    }

    /// Counts how the response ended: the upstream's status (the gRPC status for gRPC
    /// services), or none when it never answered.
    private func record(_ error: ResponseError) {
        let status = !responseStarted ? -1 : isGRPC ? grpcStatus ?? -1 : responseStatus
        server.loop.responseStatuses.record(metrics, status: status, error: error)
    }

    private func abandon() {
        switch state {
        case .queued(let backend):
            backend.remove(self)
        case .connecting(let endpoint), .proxying(let endpoint):
            endpoint.requestFinished()
        case .routing, .done:
            break
        }
        state = .done
        unwatch()
        pending.removeAll()
        if let upstream {
            self.upstream = nil
            upstream.handler.exchange = nil
            upstream.channel.close(promise: nil)
        }
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case let error as IOError: error.description
        case is ChannelError: "\(error)"
        default: String(describing: error)
        }
    }
}
