import NIOCore

/// The client-side timeouts of one HTTP/1.x connection (`timeouts:` in the config), as a
/// state machine: events in (bytes read, request started and ended, response ended, the timer
/// fired), actions out. Plain Swift with injected times, so it is tested without sockets.
///
/// Timers are lazy: an event only moves the phase and its start; the one timer of the
/// connection, when it fires, checks whether the phase it was armed for really ran out and
/// otherwise re-arms for the rest. A phase that waits for client bytes (a head, a body) arms
/// only when a read batch ends with it unfinished, and only when its bound is nearer than the
/// armed one. So a busy keep-alive connection schedules nothing per request.
struct ClientTimeoutStateMachine {
    /// Where the connection is.
    enum Phase: Equatable {
        /// Between requests, nothing of the next one read: `keepAlive` bounds it.
        case idle
        /// Bytes of a request head are arriving (or a new connection waits for its first):
        /// `requestHeader` bounds it, from its first byte.
        case readingHead
        /// The head is routed and its body is arriving: `requestBodyIdle` bounds each gap.
        case readingBody
        /// The request ended; the response is the route's to bound.
        case awaitingResponse
    }

    /// What the handler does.
    enum Action: Equatable {
        case none
        /// Arm the connection's timer for `deadline`.
        case arm(NIODeadline)
        /// Close the connection (an idle keep-alive connection ran out).
        case close
        /// Answer 408 and close (a request head did not arrive in time).
        case requestHeaderTimeout
        /// The request body stalled: the request is failed with 408, the connection closes.
        case requestBodyTimeout
    }

    let requestHeader: TimeAmount
    private(set) var keepAlive: TimeAmount
    let requestBodyIdle: TimeAmount
    private(set) var phase = Phase.readingHead
    /// When the phase started (for a body: the last read).
    private var since: NIODeadline
    /// The deadline the timer is armed for, if it is.
    private var armedFor: NIODeadline?
    /// Whether the current request's response has not ended yet.
    private var responseOpen = false
    /// Whether the proxy is not reading the client (from the end of a read batch until the
    /// next read is asked for): a body cannot stall while the proxy itself holds it back.
    private var readsPaused = false

    init(requestHeader: TimeAmount, keepAlive: TimeAmount, requestBodyIdle: TimeAmount, now: NIODeadline) {
        self.requestHeader = requestHeader
        self.keepAlive = keepAlive
        self.requestBodyIdle = requestBodyIdle
        self.since = now
    }

    private var limit: TimeAmount? {
        switch phase {
        case .idle: keepAlive
        case .readingHead: requestHeader
        case .readingBody: readsPaused ? nil : requestBodyIdle
        case .awaitingResponse: nil
        }
    }

    /// Arms the timer for `deadline` unless it is armed for an earlier one.
    private mutating func arm(_ deadline: NIODeadline) -> Action {
        if let armedFor, armedFor <= deadline { return .none }
        armedFor = deadline
        return .arm(deadline)
    }

    private mutating func enter(_ phase: Phase, now: NIODeadline) -> Action {
        self.phase = phase
        since = now
        // Waiting for client bytes arms at the end of a read batch (``readComplete()``).
        guard phase == .idle, let limit else { return .none }
        return arm(now + limit)
    }

    /// The connection is active: a first head is awaited.
    mutating func start(now: NIODeadline) -> Action {
        phase = .readingHead
        since = now
        return arm(now + requestHeader)
    }

    /// Bytes were read from the client (`now` is read only when the phase needs it).
    mutating func bytesRead(now: @autoclosure () -> NIODeadline) -> Action {
        switch phase {
        case .idle: return enter(.readingHead, now: now())
        case .readingBody:
            since = now()
            return .none
        case .readingHead, .awaitingResponse: return .none
        }
    }

    /// A read batch ended: a head or body still unfinished is bounded from here. Reads pause
    /// until the next one is asked for.
    mutating func readComplete() -> Action {
        readsPaused = true
        guard phase == .readingHead || phase == .readingBody else { return .none }
        return arm(since + (phase == .readingHead ? requestHeader : requestBodyIdle))
    }

    /// The proxy asked for the next read: a body's gap counts from now.
    mutating func readsResumed(now: @autoclosure () -> NIODeadline) -> Action {
        readsPaused = false
        guard phase == .readingBody else { return .none }
        let now = now()
        since = now
        return arm(now + requestBodyIdle)
    }

    /// A request head was routed; its body (if any) follows.
    mutating func requestStarted(now: NIODeadline) -> Action {
        responseOpen = true
        return enter(.readingBody, now: now)
    }

    /// The request's end was read.
    mutating func requestEnded(now: NIODeadline) -> Action {
        guard phase == .readingBody else { return .none }
        return enter(responseOpen ? .awaitingResponse : .idle, now: now)
    }

    /// The response ended and the connection stays open. Before the request's end (an early
    /// answer) the body still arrives and stays bounded; after it, the connection is idle.
    mutating func responseEnded(now: NIODeadline) -> Action {
        responseOpen = false
        guard phase == .awaitingResponse else { return .none }
        return enter(.idle, now: now)
    }

    /// A drain started: an idle connection closes after ``BuiltInLimits/drainIdle``: long
    /// enough that a client sending its next request as the drain starts is answered (with
    /// `Connection: close`), not reset.
    mutating func drain(now: NIODeadline) -> Action {
        keepAlive = min(keepAlive, BuiltInLimits.drainIdle)
        guard phase == .idle else { return .none }
        // From now, not from when it went idle: a request already on the wire gets its moment.
        return arm(now + keepAlive)
    }

    /// The timer fired.
    mutating func timerFired(now: NIODeadline) -> Action {
        armedFor = nil
        guard let limit else { return .none }
        let deadline = since + limit
        guard now >= deadline else { return arm(deadline) }
        switch phase {
        case .idle: return .close
        case .readingHead: return .requestHeaderTimeout
        case .readingBody: return .requestBodyTimeout
        case .awaitingResponse: return .none
        }
    }
}
