import NIOCore
import NIOHTTP1
import SwitchyardCore

/// One proxied request, from the moment routing chose a backend until its response ends. It
/// moves the bytes: buffers the request until an upstream channel is ready, streams the body up
/// and the response down with backpressure both ways, and records the endpoint's RTT. Where the
/// request is and what its ending means is its ``ExchangeStateMachine``'s: the stages call the
/// transitions here (``enqueued(at:)``, ``started(on:probe:)``, ``attach(_:)``, ``fail(_:)``),
/// and this carries out what the machine answers.
///
/// Lives on the client connection's event loop; every method runs there.
final class Exchange {
    typealias StateMachine = ExchangeStateMachine<BackendRuntime, EndpointRuntime>

    private unowned let client: any ExchangeClient
    let eventLoop: EventLoop
    /// The request head as it will be sent upstream (filters applied, hop-by-hop removed;
    /// framing headers are written by ``framing`` when it is sent). Its version stays the
    /// client's: each upstream side writes its own (`HTTP/1.1`, or none on HTTP/2).
    private(set) var requestHead: RequestHead
    /// How the body goes upstream.
    private var framing: RequestBodyFraming
    /// Whether the head went upstream (an HTTP/2 request without a length waits for its
    /// first part to decide its framing).
    private var headSent = false
    /// The route backend it counts in, and the backend it describes its errors in.
    private let target: RouteBackendTarget
    private let backend: BackendRuntime
    private var machine: StateMachine
    /// Request parts that came before an upstream channel did; made on the first (most
    /// requests reach their upstream first, and an empty buffer still allocates).
    private var pending: CircularBuffer<RequestPart>?
    private var upstream: (any UpstreamStream)?
    /// The loop's watchdog, and this exchange's slot there while its bounds run.
    private let watchdog: ExchangeWatchdog
    private var watchSlot: Int?
    /// Set once the request went again because the upstream did not process it
    /// (``retryUnanswered(after:)``): it goes again at most once.
    private var retried = false
    /// The body and end, kept until the response begins, for the request to go again.
    private var replay: RequestReplay
    /// gRPC status fields of a trailers-only upstream response, sent downstream as trailers.
    private var trailersOnly: HTTPHeaders?
    /// Where the request is logged when it ends (nil: no access log), and what it records:
    /// body bytes each way, the status the client got, the endpoint's latency.
    private let accessLog: AccessLogWriter?
    private var requestBytes = 0
    private var responseBytes = 0
    private var clientStatus: Int?
    private var upstreamLatency: UInt64?

    init(client: any ExchangeClient, dispatch: RouteDispatch, eventLoop: EventLoop, watchdog: ExchangeWatchdog, accessLog: AccessLogWriter?) {
        self.client = client
        self.accessLog = accessLog
        self.eventLoop = eventLoop
        self.watchdog = watchdog
        self.requestHead = dispatch.head
        self.framing = dispatch.framing
        self.target = dispatch.target
        self.backend = dispatch.backend
        self.machine = StateMachine(
            isGRPC: dispatch.isGRPC, timeouts: dispatch.timeouts, clientChoseDeadline: dispatch.clientChoseDeadline, now: client.now())
        // A body is kept when a second attempt could use it: an HTTP/2 upstream's refusal lets
        // any request go again, a stale HTTP/1.1 connection only an idempotent one.
        self.replay = RequestReplay(keepsBody: dispatch.backend.config.proto != .http1 || dispatch.head.method.isIdempotent)
        HopByHop.strip(&self.requestHead.fields)
        if let next = machine.nextDeadline { watchSlot = watchdog.watch(self, until: next.deadline) }
    }

    /// Hands it to its backend, which queues it or starts it on an endpoint (or answers it at
    /// once: the client must hold it first).
    func begin() {
        backend.dispatch(self)
    }

    /// Whether errors answer in gRPC form.
    var isGRPC: Bool { machine.isGRPC }
    /// When the request was routed (the exchange began).
    var routedAt: NIODeadline { machine.routedAt }

    /// Whether the client's reads should wait: nothing can take the body yet, or the
    /// upstream is not writable.
    var holdsClientReads: Bool {
        guard let upstream else { return !machine.requestEnded }
        return !upstream.isWritable
    }

    // MARK: Transitions the stages call

    /// Its backend had no ready endpoint: it waits in the backend's queue.
    func enqueued(at backend: BackendRuntime) {
        machine.enqueued(at: backend)
    }

    /// An endpoint took it (counted in flight there); `probe` when it is the endpoint's
    /// failure-accrual probe. The endpoint leases it an upstream channel next.
    func started(on endpoint: EndpointRuntime, probe: Bool) {
        // Only a waiting exchange starts (its client is there); the loop's clock if not.
        machine.started(on: endpoint, probe: probe, now: machine.isDone ? eventLoop.now : client.now())
    }

    /// An upstream channel is ready for this request: send the head and what was buffered.
    func attach(_ connection: any UpstreamStream) {
        // An exchange that ended while it connected may have outlived its client: its clock too.
        let now = machine.isDone ? eventLoop.now : client.now()
        guard machine.connected(now: now) else {
            // It ended while it connected: nothing will use the channel.
            connection.abandon()
            return
        }
        upstream = connection
        connection.exchange = self
        // A new HTTP/1.1 connection never goes stale under its first request: nothing to keep.
        if connection.isHTTP1, connection.unanswered == .mayHaveProcessed { replay.discard() }
        if let response = machine.timeouts.response {
            // The response bound starts now: it may be the nearest (or the only) one.
            let deadline = now + TimeAmount(response)
            if watchSlot == nil { watchSlot = watchdog.watch(self, until: deadline) } else { watchdog.deadlineMoved(to: deadline) }
        }
        // An HTTP/2 request whose framing is not known yet has nothing pending either (reads
        // were held until now). An HTTP/2 upstream frames it by itself: the head goes now (a
        // gRPC client may wait for the server's first message). An HTTP/1.1 upstream waits for
        // the first part to choose no body or chunked.
        guard framing != .undecided || !connection.isHTTP1 else {
            client.resumeReadsIfPossible()
            return
        }
        sendHead(to: connection)
        // A connection that closed meanwhile (the request goes again elsewhere, with these
        // parts) takes no more.
        while upstream === connection, let part = pending?.popFirst() {
            forward(part, to: connection, flush: false)
        }
        guard upstream === connection else { return }
        let client = self.client  // one strong load for both calls, not one each
        if !client.isReading { connection.flush() }
        client.resumeReadsIfPossible()
    }

    /// It fails with `failure` (a stage's or its own): the client gets §7's answer, or a close
    /// once a response has started.
    func fail(_ failure: ExchangeFailure) {
        // An exchange that ended fails no more (an HTTP/2 stream's close after its response's
        // end says the client is gone): no clock read for nothing.
        guard !machine.isDone else { return }
        let now = eventLoop.now
        guard let ending = machine.failed(failure, now: now) else { return }
        finish(ending, now: now)
    }

    // MARK: Request side

    /// A body part or the end of the request, from the client.
    func requestPart(_ part: RequestPart) {
        guard !machine.requestEnded, !machine.isDone else { return }
        let client = self.client  // one strong load for the method, not one a use
        var ended = false
        if case .end = part { ended = true }
        machine.requestProgressed(ended: ended, now: client.now())
        framing.decide(firstPart: part)
        if case .body(let bytes) = part { requestBytes += bytes.readableBytes }
        replay.record(part)
        guard let upstream else {
            if pending == nil { pending = CircularBuffer(initialCapacity: 4) }
            pending?.append(part)
            return
        }
        if !headSent { sendHead(to: upstream) }
        // Inside a client read, the read-complete flushes once for all parts.
        forward(part, to: upstream, flush: !client.isReading)
    }

    /// Sends the head with the proxy's own framing.
    private func sendHead(to upstream: any UpstreamStream) {
        headSent = true
        var head = requestHead
        framing.apply(to: &head.fields, http1: upstream.isHTTP1)
        upstream.write(.head(head), flush: false)
    }

    private func forward(_ part: RequestPart, to upstream: any UpstreamStream, flush: Bool) {
        switch part {
        case .head: break
        case .body(let bytes):
            // A body the framing says is not there (no length, no chunking) never goes upstream.
            if framing != .none { upstream.write(.body(bytes), flush: flush) }
        case .end(let trailers):
            upstream.write(.end(TrailerFields.forwarded(trailers)), flush: flush)
        }
    }

    /// The client's read ended: send what it delivered.
    func flushUpstream() {
        upstream?.flush()
    }

    /// The client stopped sending its body (`timeouts.requestBodyIdle`).
    func clientBodyStalled() {
        fail(.requestBodyTimeout)
    }

    /// The client went away: stop everything, return nothing to pools.
    func clientGone() {
        fail(.cancel)
    }

    /// The client can take more again (or cannot).
    func clientWritabilityChanged(_ writable: Bool) {
        holdUpstream(!writable)
    }

    // MARK: Response side

    /// A response part from the upstream, read at `now` (the upstream read's ``ReadClock``).
    func upstreamResponse(_ part: UpstreamResponsePart, now: NIODeadline) {
        guard case .proxying(let endpoint, _) = machine.state else { return }
        let client = self.client  // one strong load for the part, not one a use
        switch part {
        case .head(var head):
            // The upstream has the request: it will not go again.
            replay.discard()
            guard head.status.code >= 200 else {
                // The proxy sent no Expect: a 1xx goes no further, but it is the upstream
                // speaking (a 102 heartbeat keeps the idle bound away).
                machine.upstreamSpoke(now: now)
                return
            }
            // Only an HTTP/2 upstream's head can be gRPC's trailers-only response (a gRPC
            // service's backends always speak HTTP/2); an HTTP/1.1 upstream's fields go on as
            // they came (and are not searched for one).
            if head.version.major == 2 { trailersOnly = GRPCTrailersOnly.split(&head) }
            // An HTTP/1.x client gets its own version back; an HTTP/2 stream writes none.
            if client.version.major == 1, head.version != client.version { head.version = client.version }
            machine.responseHead(status: Int(head.status.code), grpcStatus: GRPCStatus(header: trailersOnly?.first(name: "grpc-status")), now: now)
            clientStatus = Int(head.status.code)
            client.writeResponseHead(head)
        case .body, .end:
            guard machine.responseStarted else {
                // Only an interim head came (HTTP/2 forwards them): nothing can frame this.
                fail(.upstreamError(reason: "the response's body or end came before its final head"))
                return
            }
            upstreamResponseContinued(part, from: endpoint, to: client, now: now)
        }
    }

    private func upstreamResponseContinued(
        _ part: UpstreamResponsePart, from endpoint: EndpointRuntime, to client: any ExchangeClient, now: NIODeadline
    ) {
        switch part {
        case .head:
            break
        case .body(let bytes):
            observeFirstByte(endpoint, now: now)
            responseBytes += bytes.readableBytes
            client.writeResponseBody(bytes)
            if !client.isWritable { holdUpstream(true) }
        case .end(let trailers):
            observeFirstByte(endpoint, now: now)
            guard let ending = machine.responseEnded(grpcStatus: GRPCStatus(header: trailers?.first(name: "grpc-status"))) else { return }
            // Settle the upstream side first: writing the end may close an HTTP/2 stream at
            // once, and the client side's close must find nothing left to abandon.
            settle(ending, now: now)
            client.writeResponseEnd(TrailerFields.forwarded(trailers) ?? trailersOnly)
            log(ending, status: clientStatus, grpcStatus: isGRPC && ending.status >= 0 ? ending.status : nil, now: now)
            client.exchangeFinished(self, at: now)
        }
    }

    private func observeFirstByte(_ endpoint: EndpointRuntime, now: NIODeadline) {
        guard let sentAt = machine.responseProgressed(now: now) else { return }
        // The upstream read's time may be a moment older than a time the client's read gave
        // later (a pipelined request replayed inside that upstream read).
        let rtt = now.nanoseconds(since: sentAt)
        upstreamLatency = rtt
        endpoint.observe(rttNanoseconds: rtt, now: now.uptimeNanoseconds)
    }

    /// The upstream's read ended: send the client what it delivered.
    func upstreamReadComplete() {
        client.flushResponse()
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        if writable { client.resumeReadsIfPossible() }
    }

    /// The upstream channel closed (or its stream was reset) before the response ended.
    func upstreamClosed() {
        let closed = upstream
        upstream = nil
        if let closed, retryUnanswered(after: closed) { return }
        fail(.upstreamReset)
    }

    /// The upstream channel failed (or reset its stream with an error code).
    func upstreamError(_ error: Error) {
        // On HTTP/1.1 only a reset of the socket (not bytes that are no response) may be a
        // stale connection's; an HTTP/2 stream says itself whether it was processed.
        if let failed = upstream, error is IOError || !failed.isHTTP1, retryUnanswered(after: failed) { return }
        fail(.upstreamError(reason: Self.reason(error)))
    }

    /// The upstream went away before any of the response came and did not process the request
    /// (``UnansweredRequest``): a pooled keep-alive connection its peer closed idle as the
    /// request went out (nginx's `proxy_next_upstream error`, HAProxy's `retry-on
    /// conn-failure`), or an HTTP/2 stream the upstream refused or a GOAWAY left out (as
    /// gRPC's transparent retry does). A request read whole, its body kept (``RequestReplay``),
    /// goes once more to the same endpoint: a new connection for HTTP/1.1, the endpoint's
    /// current (or next) connection for HTTP/2. Not counted against the endpoint.
    private func retryUnanswered(after gone: any UpstreamStream) -> Bool {
        let unanswered = gone.unanswered
        guard unanswered != .mayHaveProcessed, !retried, machine.requestEnded, replay.isWhole,
            unanswered == .notProcessed || requestHead.method.isIdempotent,
            case .proxying(let endpoint, _) = machine.state, machine.reconnecting(now: eventLoop.now)
        else { return false }
        retried = true
        gone.exchange = nil
        upstream = nil
        headSent = false
        pending = replay.parts
        replay.discard()  // it goes again once
        if gone.isHTTP1 {
            endpoint.logger.debug("a pooled connection closed before it answered: the request goes again on a new one")
            endpoint.connectHTTP1(for: self)
        } else {
            endpoint.logger.debug("the upstream did not process the stream (refused, or past its GOAWAY): the request goes again")
            endpoint.openHTTP2Stream(for: self)
        }
        return true
    }

    /// The request could not be written upstream (a header NIO refuses to send).
    func requestUnsendable(_ error: Error) {
        fail(.unsendable(reason: Self.reason(error)))
    }

    private func holdUpstream(_ hold: Bool) {
        machine.clientHolds(hold)
        upstream?.holdReads(hold)
    }

    // MARK: Timeouts

    /// The nearest route bound still running.
    var nextDeadline: NIODeadline? { machine.nextDeadline?.deadline }

    /// The watchdog's check: the exchange fails if a bound ran out by `now`.
    func timePassed(now: NIODeadline) {
        guard let ending = machine.timePassed(now: now) else { return }
        finish(ending, now: now)
    }

    // MARK: Ending

    /// Carries out a failed `ending`: settles it, answers the client, and (unless the client
    /// is gone) lets the client's next request go.
    private func finish(_ ending: StateMachine.Ending, now: NIODeadline) {
        settle(ending, now: now)
        switch ending.answer {
        case .respond(let failure):
            let answer = failure.answer(describe: backend.describe)
            client.respond(with: answer, isGRPC: isGRPC)
            if accessLog != nil {
                responseBytes += isGRPC ? 0 : answer.message.utf8.count
                log(ending, status: isGRPC ? 200 : Int(answer.status.code), grpcStatus: isGRPC ? answer.grpcStatus.rawValue : nil, now: now)
            }
        case .closeClient:
            client.closeClient()
            log(ending, status: clientStatus, grpcStatus: nil, now: now)
        case .nothing:
            log(ending, status: clientStatus, grpcStatus: nil, now: now)  // the client left: what it had got, if anything
        }
        if ending.failure != .cancel { client.exchangeFinished(self, at: now) }
    }

    /// Carries out the settling part of `ending`: counts it, leaves the queue or the
    /// endpoint, tells the breaker, and pools or closes the upstream channel. `now` is when it
    /// ended (read once by the caller).
    private func settle(_ ending: StateMachine.Ending, now: NIODeadline) {
        let failure = ending.failure
        // The response (the upstream's, or the proxy's answer) ends now: time it from the
        // request's end (an answer before the request ended took no time after it).
        if ending.answer != .nothing || failure == nil {
            let end = now.uptimeNanoseconds
            let start = machine.requestEndedAt?.uptimeNanoseconds ?? end
            target.recordResponseDuration(nanoseconds: Int64(clamping: end &- min(start, end)))
        }
        if let watchSlot { watchdog.unwatch(slot: watchSlot) }
        watchSlot = nil
        pending = nil
        target.countResponse(status: ending.status, error: ending.error)
        switch ending.leave {
        case .nothing:
            break
        case .queue(let backend):
            backend.remove(self)
        case .endpoint(let endpoint):
            // The breaker hears the outcome while the request still counts in flight (a probe
            // released here may start the next request at once), then it leaves.
            switch ending.verdict {
            case .nothing: break
            case .success: endpoint.health?.record(failure: false)
            case .failure:
                if let failure { endpoint.logger.debug("\(failure.logText)") }
                endpoint.health?.record(failure: true)
            case .releaseProbe: endpoint.health?.releaseProbe()
            }
            if let failure, case .unsendable = failure { endpoint.logger.warning("\(failure.logText)") }
            if let observed = ending.observed { endpoint.observed(observed, now: now) }
            if let waited = ending.unanswered { endpoint.unanswered(after: waited, now: now.uptimeNanoseconds) }
            endpoint.requestFinished()
            if let upstream {
                self.upstream = nil
                upstream.exchangeEnded(clean: failure == nil, requestEnded: machine.requestEnded, endpoint: endpoint, now: now)
            }
        }
    }

    /// Writes the access-log line of `ending`, if there is an access log.
    private func log(_ ending: StateMachine.Ending, status: Int?, grpcStatus: Int?, now: NIODeadline) {
        guard let accessLog else { return }
        var endpoint: String?
        if case .endpoint(let runtime) = ending.leave { endpoint = runtime.addressText }
        accessLog.append(
            AccessLogEntry(
                request: requestHead, client: client.clientAddress, status: status, grpcStatus: grpcStatus, error: ending.error, route: target.routeName,
                backend: target.backendName, endpoint: endpoint, requestBytes: requestBytes, responseBytes: responseBytes,
                durationNanoseconds: now.nanoseconds(since: machine.routedAt),
                upstreamNanoseconds: upstreamLatency))
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case let error as IOError: error.description
        case is ChannelError: "\(error)"
        default: String(describing: error)
        }
    }
}
