import NIOCore
import NIOHTTP1

/// The client-side timeouts of an HTTP/1.x connection (``ClientTimeoutStateMachine``: request
/// head, keep-alive idle, request-body gaps), carried out by the connection's
/// ``ProxyServerHandler``. The ``ClientRequestDecoder`` tells it of every read, so it sees
/// every byte the client sends. HTTP/2 connections are bounded by their
/// ``HTTP2ServerConnection`` (idle) and each stream by its route's timeouts instead.
///
/// This was a pipeline handler of its own, first in the pipeline; its hops on every read, read
/// request, write and flush cost about 9 % of the proxy's user time per request. The clock is
/// read once per client read (``ReadClock``), shared with the exchanges that read starts; a
/// response's end brings its exchange's time.
extension ProxyServerHandler {
    /// What the request handler saw.
    enum RequestEvent {
        /// A request head was routed.
        case started
        /// The request's end was read.
        case ended
        /// The response ended; the connection stays open.
        case responseEnded
    }

    /// Now, read once per read (``ExchangeClient``).
    func now() -> NIODeadline {
        clock.now(slot.state.eventLoop)
    }

    /// The connection is being served: a first head is awaited.
    func startTimeouts() {
        performTimeout(timeouts.start(now: slot.state.eventLoop.now))
    }

    /// The decoder read bytes from the client: the read's events share one time until
    /// ``readEnded()``.
    func bytesRead() {
        clock.readBegan()
        performTimeout(timeouts.bytesRead(now: self.now()))
    }

    /// The decoder handed on everything the read held.
    func readEnded() {
        clock.readEnded()
    }

    /// The handler asked for the client's next read.
    func readsResumed() {
        performTimeout(timeouts.readsResumed(now: self.now()))
    }

    /// The read batch ended (after the handler saw it: a head may have been routed).
    func readBatchEnded() {
        performTimeout(timeouts.readComplete())
    }

    /// A drain began.
    func drainTimeouts() {
        performTimeout(timeouts.drain(now: slot.state.eventLoop.now))
    }

    /// What the request handler saw (at `time`, when the caller knows it).
    func timeoutsSaw(_ event: RequestEvent, at time: NIODeadline? = nil) {
        let now = time ?? now()
        switch event {
        case .started: performTimeout(timeouts.requestStarted(now: now))
        case .ended: performTimeout(timeouts.requestEnded(now: now))
        case .responseEnded: performTimeout(timeouts.responseEnded(now: now))
        }
    }

    /// The connection closed or the handler left it.
    func stopTimeouts() {
        timeoutTimer?.cancel()
        timeoutTimer = nil
    }

    private func performTimeout(_ action: ClientTimeoutStateMachine.Action) {
        switch action {
        case .none:
            break
        case .arm(let deadline):
            timeoutTimer?.cancel()
            // Strong: a weak reference would give the handler a side table, and every retain of
            // it the slow path. Removal and close cancel the timer.
            timeoutTimer = slot.state.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                timeoutTimer = nil
                performTimeout(timeouts.timerFired(now: slot.state.eventLoop.now))
            }
        case .close:
            closeClient()
        case .requestHeaderTimeout:
            requestHeadTimedOut()
        case .requestBodyTimeout:
            requestBodyStalled()
        }
    }
}
