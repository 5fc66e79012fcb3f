import NIOCore
import SwitchyardCore
import SwitchyardPluginHost

/// The lifecycle of one proxied request, from routed to finished, in NIO's state-machine style:
/// events in, actions out. It knows where the request is (queued at a backend, connecting to or
/// proxying through an endpoint), what the client and the upstream have done so far and when,
/// and decides from that what an ending means: what the client is told, what the route
/// backend's metrics count, and whether the endpoint's breaker hears a failure.
///
/// Plain Swift: ``Exchange`` feeds it events and carries out its actions; the stages that move
/// a request (a backend's queue, an endpoint) call the exchange's transitions, never its state.
/// Generic over the backend and endpoint it points at, so tests drive it with stand-ins.
struct ExchangeStateMachine<Backend: AnyObject, Endpoint: AnyObject> {
    /// Where the request is.
    enum State {
        /// Routing chose a backend; it has not queued nor started yet.
        case routed
        /// Waiting in `Backend`'s queue for a ready endpoint.
        case queued(Backend)
        /// In flight on `Endpoint`, waiting for an upstream channel; `probe` when it is the
        /// endpoint's failure-accrual probe.
        case connecting(Endpoint, probe: Bool)
        /// Sent (or being sent) on an upstream channel of `Endpoint`.
        case proxying(Endpoint, probe: Bool)
        /// Finished: answered, failed or abandoned. Every later event is ignored.
        case done
    }

    /// Where an ending takes the request out of.
    enum Leave {
        case nothing
        /// Out of this backend's queue.
        case queue(Backend)
        /// Out of this endpoint's in-flight count (its upstream channel closes or is pooled).
        case endpoint(Endpoint)
    }

    /// What the endpoint's breaker hears.
    enum Verdict: Equatable {
        /// Nothing: the request never reached an endpoint, or did not need it to.
        case nothing
        /// A success (a response that is not a failure).
        case success
        /// A failure: a 5xx or failing gRPC status, an endpoint that could not be reached,
        /// broke off, or was late (DESIGN.md §5).
        case failure
        /// No outcome: the probe it carried goes to the next request.
        case releaseProbe
    }

    /// What the client gets.
    enum Answer: Equatable {
        /// Nothing more from the proxy: the response ended, or the client is gone.
        case nothing
        /// The failure's synthetic response (DESIGN.md §7).
        case respond(ExchangeFailure)
        /// A close: a response had started, and a partial response cannot turn into an error.
        case closeClient
    }

    /// How the exchange ends: its driver carries these out.
    struct Ending {
        var leave: Leave
        var verdict: Verdict
        var answer: Answer
        /// The status the route-backend metrics count: HTTP (or, for gRPC, the gRPC status),
        /// or -1 when no response came.
        var status: Int
        /// The `error` label counted with it.
        var error: ResponseError
        /// Why it failed; nil when the response ended.
        var failure: ExchangeFailure?
        /// What the endpoint's balancer hears (its `observe` hook); nil when the request left
        /// no endpoint, or the proxy itself could not send it.
        var observed: Observation?
        /// How long a request waited at an endpoint that never answered it: one it could not be
        /// connected to, or one that timed out before any of its response came (nanoseconds
        /// since the endpoint took it). The endpoint's peak-EWMA takes it as a sample of at least
        /// its default RTT; nil otherwise.
        var unanswered: UInt64? = nil
    }

    /// How the request ended at its endpoint, for the balancer's `observe` hook.
    struct Observation: Equatable {
        /// When the endpoint took the request.
        var startedAt: NIODeadline
        /// The upstream's HTTP status; 0 when no response head came.
        var httpStatus: Int
        /// The gRPC status, when the request is gRPC and one came.
        var grpcStatus: Int?
        var flags: BalancerOutcome.Flags
    }

    private(set) var state: State = .routed
    /// Whether errors answer in gRPC form and the gRPC status is the one counted.
    let isGRPC: Bool
    /// The route's timeouts (a gRPC request's `grpc-timeout` folded into `request`).
    let timeouts: RouteTimeouts
    /// Whether `timeouts.request` is the client's `grpc-timeout` rather than the route's own.
    let clientChoseDeadline: Bool
    /// Whether the client's request ended (its whole body was read), and when.
    private(set) var requestEnded = false
    private(set) var requestEndedAt: NIODeadline?
    /// Whether a final response head came.
    private(set) var responseStarted = false
    /// Whether the client was not reading (the upstream's reads are held on its account).
    private var heldByClient = false
    private var responseStatus = 0
    private var grpcStatus: GRPCStatus?
    /// When routing decided (the request and its log's duration run from there).
    let routedAt: NIODeadline
    /// When an endpoint took the request (the balancer's observed latency runs from there).
    private var startedAt: NIODeadline?
    /// When the request went upstream (the response timeout and the RTT run from there).
    private var sentAt: NIODeadline?
    private var sawFirstByte = false
    /// The last byte either way (the idle timeout runs from there).
    private var lastActivity: NIODeadline

    init(isGRPC: Bool, timeouts: RouteTimeouts, clientChoseDeadline: Bool, now: NIODeadline) {
        self.isGRPC = isGRPC
        self.timeouts = timeouts
        self.clientChoseDeadline = clientChoseDeadline
        self.routedAt = now
        self.lastActivity = now
    }

    var isDone: Bool {
        if case .done = state { true } else { false }
    }

    // MARK: Where the request goes

    /// The backend had no ready endpoint: the request waits in its queue.
    mutating func enqueued(at backend: Backend) {
        guard case .routed = state else { return }
        state = .queued(backend)
    }

    /// An endpoint took the request (from routing or from the queue).
    mutating func started(on endpoint: Endpoint, probe: Bool, now: NIODeadline) {
        switch state {
        case .routed, .queued:
            state = .connecting(endpoint, probe: probe)
            startedAt = now
        case .connecting, .proxying, .done: break
        }
    }

    /// An upstream channel is ready. Returns false when nothing will use it (the exchange
    /// ended while it connected): the driver closes it.
    mutating func connected(now: NIODeadline) -> Bool {
        guard case .connecting(let endpoint, let probe) = state else { return false }
        state = .proxying(endpoint, probe: probe)
        sentAt = now
        return true
    }

    /// The upstream channel went away before any of the response came, and the request goes
    /// again on another: back to waiting for one (still counted in flight on the endpoint).
    /// Returns false when a response byte had come or it is not on an upstream channel.
    mutating func reconnecting(now: NIODeadline) -> Bool {
        guard case .proxying(let endpoint, let probe) = state, !sawFirstByte, !responseStarted else { return false }
        state = .connecting(endpoint, probe: probe)
        sentAt = nil
        lastActivity = now
        return true
    }

    // MARK: What the client and the upstream do

    /// A part of the client's request came; `ended` when it was the end.
    mutating func requestProgressed(ended: Bool, now: NIODeadline) {
        lastActivity = now
        if ended {
            requestEnded = true
            requestEndedAt = now
        }
    }

    /// The client stopped (or resumed) reading the response.
    mutating func clientHolds(_ hold: Bool) {
        heldByClient = hold
    }

    /// The upstream's final response head came.
    mutating func responseHead(status: Int, grpcStatus: GRPCStatus?, now: NIODeadline) {
        responseStarted = true
        responseStatus = status
        self.grpcStatus = grpcStatus
        lastActivity = now
    }

    /// The upstream sent something that is not part of the response (an interim 1xx).
    mutating func upstreamSpoke(now: NIODeadline) {
        lastActivity = now
    }

    /// A response byte came. Returns when the request went upstream the first time one does
    /// (the endpoint's RTT runs from there to now), nil after.
    mutating func responseProgressed(now: NIODeadline) -> NIODeadline? {
        lastActivity = now
        guard !sawFirstByte else { return nil }
        sawFirstByte = true
        return sentAt
    }

    // MARK: Endings

    /// The upstream's response ended (with `grpcStatus` in its trailers, if any).
    mutating func responseEnded(grpcStatus trailerStatus: GRPCStatus?) -> Ending? {
        guard case .proxying(let endpoint, let probe) = state else { return nil }
        if let trailerStatus { grpcStatus = trailerStatus }
        state = .done
        // A 5xx or a failing gRPC status is a failure; a 429, or no grpc-status, is not.
        let failed = responseStatus >= 500 || (grpcStatus?.isFailure ?? false)
        return Ending(
            leave: .endpoint(endpoint), verdict: failed ? .failure : .success, answer: .nothing, status: countedStatus, error: .none, failure: nil,
            observed: observation(probe: probe, flags: []))
    }

    /// The exchange failed with `failure` at `now`. Returns nil when the failure does not apply
    /// where the request is (a connect failure after the client went away, an upstream error
    /// after the response ended).
    mutating func failed(_ failure: ExchangeFailure, now: NIODeadline? = nil) -> Ending? {
        let leave: Leave
        var verdict = Verdict.nothing
        var observed: Observation?
        var unanswered: UInt64?
        switch (failure, state) {
        case (_, .done):
            return nil
        case (.connect, .connecting(let endpoint, let probe)):
            leave = .endpoint(endpoint)
            verdict = .failure
            observed = observation(probe: probe, flags: .connectFailure)
            unanswered = waited(until: now)
        case (.upstreamReset, .proxying(let endpoint, let probe)), (.upstreamError, .proxying(let endpoint, let probe)):
            leave = .endpoint(endpoint)
            verdict = .failure
            observed = observation(probe: probe, flags: .reset)
        case (.unsendable, .proxying(let endpoint, let probe)):
            leave = .endpoint(endpoint)
            verdict = probe ? .releaseProbe : .nothing
        case (.loadShed, .routed), (.failFast, .routed):
            leave = .nothing
        case (.loadShed, .queued(let backend)), (.failFast, .queued(let backend)):
            leave = .queue(backend)
        case (.timeout, _), (.requestBodyTimeout, _), (.cancel, _):
            switch state {
            case .routed, .done: leave = .nothing
            case .queued(let backend): leave = .queue(backend)
            case .connecting(let endpoint, let probe), .proxying(let endpoint, let probe):
                leave = .endpoint(endpoint)
                // The endpoint was late (what its breaker counts), or the client's doing: it
                // left, stalled its body, stopped reading, or its own deadline ran out.
                if case .timeout(let bound) = failure, endpointIsLate(bound) {
                    verdict = .failure
                    observed = observation(probe: probe, flags: .timeout)
                    // Waited that long with nothing back: a sample of at least that, so the
                    // balancer stops sending a hung endpoint the next request (tower samples
                    // every request that ends; a timeout ends it).
                    if !sawFirstByte { unanswered = waited(until: now) }
                } else {
                    if probe { verdict = .releaseProbe }
                    observed = observation(probe: probe, flags: .cancel)
                }
            }
        default:
            return nil
        }
        state = .done
        let answer: Answer = failure == .cancel ? .nothing : responseStarted ? .closeClient : .respond(failure)
        return Ending(
            leave: leave, verdict: verdict, answer: answer, status: countedStatus, error: failure.label, failure: failure, observed: observed,
            unanswered: unanswered)
    }

    /// How long the endpoint has had the request at `now` (nil without a time).
    private func waited(until now: NIODeadline?) -> UInt64? {
        guard let now, let startedAt else { return nil }
        return now.nanoseconds(since: startedAt)
    }

    /// What the balancer hears of a request that leaves its endpoint now.
    private func observation(probe: Bool, flags: BalancerOutcome.Flags) -> Observation? {
        guard let startedAt else { return nil }
        return Observation(
            startedAt: startedAt, httpStatus: responseStarted ? responseStatus : 0, grpcStatus: isGRPC ? grpcStatus?.observed : nil,
            flags: probe ? flags.union(.probe) : flags)
    }

    /// Whether a timeout is the endpoint's doing, so it counts against its breaker: a route
    /// bound ran out while the endpoint had the whole request and the client was reading; for
    /// the `request` bound, only the route's own (not a client's `grpc-timeout`, which can be
    /// anything) and only before any response came. A client still sending, or not reading, is
    /// not the endpoint's doing.
    private func endpointIsLate(_ bound: ExchangeFailure.RouteTimeout) -> Bool {
        guard requestEnded, !heldByClient else { return false }
        switch bound {
        case .response, .idle: return true
        case .request: return !clientChoseDeadline && !responseStarted
        }
    }

    private var countedStatus: Int {
        guard responseStarted else { return -1 }
        return isGRPC ? grpcStatus?.rawValue ?? -1 : responseStatus
    }

    // MARK: Timeouts

    /// The nearest route bound still running, and which it is.
    var nextDeadline: (deadline: NIODeadline, bound: ExchangeFailure.RouteTimeout)? {
        guard !isDone else { return nil }
        var nearest: (deadline: NIODeadline, bound: ExchangeFailure.RouteTimeout)?
        func consider(_ deadline: NIODeadline, _ bound: ExchangeFailure.RouteTimeout) {
            if nearest.map({ deadline < $0.deadline }) ?? true { nearest = (deadline, bound) }
        }
        if let request = timeouts.request { consider(routedAt + TimeAmount(request), .request) }
        if let response = timeouts.response, let sentAt, !responseStarted { consider(sentAt + TimeAmount(response), .response) }
        if let idle = timeouts.idle { consider(lastActivity + TimeAmount(idle), .idle) }
        return nearest
    }

    /// Time passed: the exchange fails with the bound that ran out by `now`, if one did.
    mutating func timePassed(now: NIODeadline) -> Ending? {
        guard let next = nextDeadline, next.deadline <= now else { return nil }
        return failed(.timeout(next.bound), now: now)
    }
}
