import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardPluginHost

/// One endpoint of a backend on one event loop: its load (in-flight count and peak-EWMA RTT)
/// and its upstream connections, a pool of keep-alive HTTP/1.1 connections or one HTTP/2
/// connection multiplexing every request.
final class EndpointRuntime {
    /// Its index in the backend's balancer (a discovery's change may move it).
    private(set) var index: Int
    /// Its table entry (a discovery's change may give it another weight or metadata).
    private(set) var config: RoutingTable.Endpoint
    let proto: ServiceProtocol
    let socketAddress: SocketAddress
    /// Its address as the config wrote it (connect errors, the access log).
    let addressText: String
    let eventLoop: EventLoop
    /// The shared breaker, when the backend has failure accrual.
    let health: EndpointHealth?
    /// Logs inside `service{..}:endpoint{..}`.
    let logger: Logger
    /// The backend it serves in; nil once it left it: a discovery dropped it, or it retired and
    /// its last request in flight ended (the balancer hears that request's outcome). Strong: a
    /// weak reference would give every backend a side table, and each of the request path's
    /// retains and releases of it the slow path (about 3 % of HTTP/1.1's user time).
    var backend: BackendRuntime?
    private(set) var ewma: PeakEwma
    /// The balancer's default RTT in nanoseconds: the least an unanswered request counts as.
    private let defaultRttNanoseconds: UInt64
    private(set) var inFlight = 0
    /// Whether this loop has sent it a request yet (see `cost`).
    private var tried = false
    /// Pooled HTTP/1.1 connections, oldest first (the newest is reused first).
    private var idle: [UpstreamHandler] = []
    /// How long a pooled connection may wait for its next request.
    private let upstreamIdle: TimeAmount
    /// Closes pooled connections that waited `upstreamIdle`; armed while the pool holds any.
    private var idleSweep: Scheduled<Void>?
    private var http2: HTTP2Upstream?
    /// HTTP/2 connections whose upstream said GOAWAY: their open streams finish, and a retire
    /// closes them if the upstream has not.
    private var drainingHTTP2: [HTTP2Upstream] = []
    /// Set when a reload replaced its table: nothing is pooled any more.
    private var retired = false
    /// Opens its upstream connections.
    let connector: UpstreamConnector
    /// Every loop's in-flight counts of its backend, when more than one loop serves it.
    private var backendInFlight: BackendInFlight?

    init(
        index: Int, config: RoutingTable.Endpoint, loadModel: LoadModel, proto: ServiceProtocol, health: EndpointHealth?,
        backendInFlight: BackendInFlight?, upstreamIdle: TimeAmount, connector: UpstreamConnector, logger: Logger, eventLoop: EventLoop
    ) throws {
        self.connector = connector
        self.backendInFlight = backendInFlight
        self.upstreamIdle = upstreamIdle
        self.logger = logger
        self.index = index
        self.config = config
        self.proto = proto
        self.health = health
        self.eventLoop = eventLoop
        self.addressText = config.address.description
        self.socketAddress = try SocketAddress.makeAddressResolvingHost(config.address.host, port: Int(config.address.port))
        self.ewma = PeakEwma(defaultRtt: loadModel.defaultRtt, decay: loadModel.decay, now: eventLoop.now.uptimeNanoseconds)
        self.defaultRttNanoseconds = UInt64(max(loadModel.defaultRtt.nanoseconds, 0))
    }

    /// Takes a request (`probe` when it is this endpoint's failure-accrual probe): counts it in
    /// flight, then leases it an upstream channel.
    func start(_ exchange: Exchange, probe: Bool) {
        inFlight += 1
        tried = true
        backendInFlight?.add(1, at: index)
        backend?.publishLoad(self)
        exchange.started(on: self, probe: probe)
        if proto == .http1 {
            if let connection = idle.popLast() {
                exchange.attach(connection)
            } else {
                connectHTTP1(for: exchange)
            }
        } else {
            openHTTP2Stream(for: exchange)
        }
    }

    /// Opens `exchange`'s stream on the endpoint's HTTP/2 connection (a new one when it has
    /// none, or its last said GOAWAY). `retried`: the stream was first made on a connection
    /// that went away meanwhile.
    func openHTTP2Stream(for exchange: Exchange, retried: Bool = false) {
        let upstream = http2 ?? HTTP2Upstream(endpoint: self)
        http2 = upstream
        upstream.openStream(for: exchange, retried: retried)
    }

    /// A discovery's change kept the endpoint at `index` of the next snapshot: its requests in
    /// flight count there from now on.
    func move(to index: Int, config: RoutingTable.Endpoint, backendInFlight: BackendInFlight?) {
        self.index = index
        self.config = config
        self.backendInFlight = backendInFlight
        backendInFlight?.add(inFlight, at: index)
    }

    /// The breaker let the endpoint back in (or took it out): tell this loop's balancer.
    func setReady(_ ready: Bool) {
        backend?.setReady(self, ready)
    }

    /// A request's response ended (or failed): it is no longer in flight.
    func requestFinished() {
        inFlight -= 1
        backendInFlight?.add(-1, at: index)
        backend?.publishLoad(self)
        if retired, inFlight == 0 { leave() }
    }

    /// Its table was replaced: close idle connections now, the HTTP/2 connection once its
    /// last stream ends, and every HTTP/1.1 connection as its request ends. Its breaker (the
    /// new table has its own) stops reporting to it.
    func retire() {
        retired = true
        health?.unregister(self)
        for connection in idle { connection.close() }
        for upstream in drainingHTTP2 { upstream.close() }
        idle.removeAll()
        idleSweep?.cancel()
        idleSweep = nil
        if inFlight == 0 { leave() }
    }

    /// Retired with nothing in flight: its HTTP/2 connection closes and it lets go of its backend.
    private func leave() {
        http2?.close()
        backend = nil
    }

    /// Its balancing cost (DESIGN.md §5): the peak-EWMA cost, or 0 until this loop sends it a
    /// request. Priced at `defaultRtt` from the start, an endpoint that lost its first draws
    /// would lose every draw against endpoints that answer faster than that, until time decayed
    /// it; free, each new endpoint gets one request, then is priced like the others.
    var cost: Double {
        tried ? ewma.cost(inFlight: inFlight) : 0
    }

    /// Lets time pull the endpoint's peak-EWMA toward zero (its backend publishes the load);
    /// not before it is tried (its `defaultRtt` prices it while its first request is out).
    func decayEstimate(now: UInt64) {
        guard tried else { return }
        ewma.decay(now: now)
    }

    /// A request waited `waited` nanoseconds here and got no answer (a connect that failed, a
    /// timeout before any response): a sample of at least `defaultRtt`, so an endpoint that
    /// fails or hangs is priced back up instead of decaying into the cheapest.
    func unanswered(after waited: UInt64, now: UInt64) {
        observe(rttNanoseconds: max(waited, defaultRttNanoseconds), now: now)
    }

    /// Folds a round-trip time into the endpoint's peak-EWMA.
    func observe(rttNanoseconds: UInt64, now: UInt64) {
        ewma.observe(rttNanoseconds: rttNanoseconds, now: now)
        backend?.publishLoad(self)
    }

    /// Tells the backend's balancer how a request it sent here ended (its `observe` hook).
    func observed(_ observation: Exchange.StateMachine.Observation, now: NIODeadline) {
        guard let balancer = backend?.balancer, balancer.observes else { return }
        balancer.observe(
            BalancerOutcome(
                endpoint: index, latencyNanoseconds: now.uptimeNanoseconds &- min(observation.startedAt.uptimeNanoseconds, now.uptimeNanoseconds),
                httpStatus: observation.httpStatus, grpcStatus: observation.grpcStatus, flags: observation.flags))
    }

    /// Returns a finished HTTP/1.1 connection to the pool; it idles from `now`.
    func release(_ connection: UpstreamHandler, now: NIODeadline) {
        guard !retired, connection.isActive, idle.count < BuiltInLimits.idleConnectionsPerEndpoint else {
            connection.close()
            return
        }
        connection.idleSince = now
        idle.append(connection)
        armIdleSweep()
    }

    private func armIdleSweep() {
        guard idleSweep == nil, let oldest = idle.first else { return }
        idleSweep = eventLoop.assumeIsolated().scheduleTask(deadline: oldest.idleSince + upstreamIdle) { [self] in
            // Strong: a weak reference would give the endpoint a side table, and every retain
            // of it on the request path the slow path. ``retire()`` cancels the sweep.
            closeIdleConnections()
        }
    }

    /// Closes the pooled connections that waited `upstreamIdle`, then waits for the next oldest.
    private func closeIdleConnections() {
        idleSweep = nil
        let cutoff = eventLoop.now - upstreamIdle
        while let oldest = idle.first, oldest.idleSince <= cutoff {
            idle.removeFirst()
            oldest.close()
        }
        armIdleSweep()
    }

    private func forget(_ connection: UpstreamHandler) {
        idle.removeAll { $0 === connection }
    }

    /// Opens a new HTTP/1.1 connection for `exchange` (also when the pooled one it had went
    /// stale under it).
    func connectHTTP1(for exchange: Exchange) {
        connector.connectHTTP1(socketAddress, eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                do {
                    let channel = try result.get()
                    let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                    // Strong (see ``armIdleSweep()``): the handler drops it once it ran.
                    handler.onClose = { [self, unowned handler] in forget(handler) }
                    exchange.attach(handler)
                } catch {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    self.connectFailed(exchange, error)
                }
            }
    }

    /// `exchange`'s upstream channel could not be opened.
    func connectFailed(_ exchange: Exchange, _ error: Error) {
        exchange.fail(.connect(address: addressText, reason: Exchange.reason(error)))
    }

    /// `upstream`'s connection went away (or will take no new stream): the next request
    /// opens a new one.
    func http2Closed(_ upstream: HTTP2Upstream) {
        if http2 === upstream { http2 = nil }
        drainingHTTP2.removeAll { $0 === upstream }
    }

    /// `upstream`'s peer said GOAWAY: the next request opens a new connection; this one is
    /// kept (to close on a retire) until it closes.
    func http2WentAway(_ upstream: HTTP2Upstream) {
        guard http2 === upstream else { return }
        http2 = nil
        drainingHTTP2.append(upstream)
    }
}
