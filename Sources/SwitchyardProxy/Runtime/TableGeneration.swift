import Logging
import NIOCore
import SwitchyardCore
import SwitchyardPluginHost

/// A served table and everything made from it: its series, what its backends share across
/// loops, and each loop's state. Startup and every reload (DESIGN.md §11) go through here, in
/// the order this file reads:
///
/// 1. ``init(table:exporter:previous:environment:logger:)`` makes the series (a series with the
///    same labels as the running table's is the same handle) and each backend's shared state,
///    keeping the breakers of endpoints the running generation also has;
/// 2. ``makeLoopStates(on:)`` builds each loop's balancers, queues, endpoints and router, on
///    that loop;
/// 3. ``serve(_:in:replacing:)`` puts them in the loops' slots (new requests route with them,
///    requests already routed finish on the old ones) after ``activate()`` (the gauges say every
///    endpoint is ready, kept breakers count in the new series), and retires the old
///    generation: its idle upstream connections close, and its series the new one does not
///    have leave `/metrics`. At startup the slots are made from the states after ``activate()``;
/// 4. ``abandon(keeping:)`` undoes step 1 when a later step failed: the running generation
///    stays, with its series.
final class TableGeneration: Sendable {
    let table: RoutingTable
    /// The table's series; the request path only increments them.
    let metrics: ProxyMetrics
    /// What each backend's runtimes share across loops, in table order.
    let shared: [BackendShared]
    /// What the data path runs over (sockets and the clock).
    let environment: ProxyEnvironment
    /// Where its requests are logged (nil: no access log). A reload with the same settings
    /// keeps the running writer.
    let accessLog: AccessLogWriter?
    /// How many event loops serve it.
    let loops: Int

    /// Step 1: the series and shared state of `table`, keeping `previous`' breakers.
    init(
        table: RoutingTable, exporter: MetricsExporter, previous: TableGeneration?, environment: ProxyEnvironment, accessLog: AccessLogWriter?,
        loops: Int, logger: Logger
    ) {
        self.table = table
        self.loops = loops
        self.environment = environment
        self.accessLog = accessLog
        let metrics = ProxyMetrics(table: table, exporter: exporter)
        self.metrics = metrics
        let previousByAuthority = Dictionary((previous?.shared ?? []).map { ($0.backend.authority, $0) }, uniquingKeysWith: { a, _ in a })
        self.shared = zip(table.backends, metrics.breakers).map { backend, breakers in
            BackendShared(
                backend, breakers: breakers, previous: previousByAuthority[backend.authority], loops: loops, clock: environment.clock, events: environment.events,
                logger: logger)
        }
    }

    /// Step 2: every loop's state, each built on its own loop.
    func makeLoopStates(on group: EventLoopGroup) async throws -> [NIOLoopBound<LoopState>] {
        var states: [NIOLoopBound<LoopState>] = []
        for (index, loop) in group.makeIterator().enumerated() {
            let seed = UInt64.random(in: .min ... .max)
            states.append(
                try await loop.submit {
                    NIOLoopBound(
                        try LoopState(eventLoop: loop, loopIndex: index, generation: self, seed: seed, connector: self.environment.connector),
                        eventLoop: loop)
                }.get())
        }
        return states
    }

    /// Step 3 (a reload): serves `states` (from ``makeLoopStates(on:)``) in `slots`, retiring
    /// `previous`.
    func serve(_ states: [NIOLoopBound<LoopState>], in slots: [NIOLoopBound<LoopSlot>], replacing previous: TableGeneration) async throws {
        activate()
        for (slot, state) in zip(slots, states) {
            try await slot.eventLoop.submit {
                let old = slot.value.state
                slot.value.state = state.value
                old.retire()
            }.get()
        }
        previous.metrics.retire(replacedBy: metrics)
    }

    /// Its series take over: every endpoint counts as ready (a kept breaker that is not
    /// moves its endpoint to pending as it is carried into the new series).
    func activate() {
        for balancer in metrics.balancers { balancer.publishAllReady() }
        for backend in shared { backend.carryBreakers() }
    }

    /// Step 4: the generation will not be served (a later step failed): its series that
    /// `running`'s does not have leave `/metrics`.
    func abandon(keeping running: TableGeneration) {
        metrics.retire(replacedBy: running.metrics)
    }
}

/// What the data path runs over: how upstream connections open, and the clock breakers read.
/// Tests replace both to run the data path in-process with virtual time.
struct ProxyEnvironment: Sendable {
    var connector: UpstreamConnector
    var clock: @Sendable () -> NIODeadline
    /// Where breakers tell their transitions (kept across reloads).
    var events = BreakerEvents()

    /// Real sockets and the monotonic clock (and a fresh event log).
    static var live: ProxyEnvironment { ProxyEnvironment(connector: .tcp, clock: { .now() }) }
}

/// What one backend's runtimes on every loop share: the fail-fast gate, its logger (inside
/// the backend's `service{..}` span) and, with failure accrual, each endpoint's breaker.
struct BackendShared: Sendable {
    let backend: RoutingTable.Backend
    let gate = BackendGate()
    let healths: [EndpointHealth?]
    /// Every loop's in-flight counts of the endpoints, when more than one loop serves the
    /// backend (the balancer's `backend_in_flight`; with one loop it is that loop's count).
    let inFlight: BackendInFlight?
    let logger: Logger
    /// Breakers kept from the table a reload replaces, and the series they move to once the
    /// new table is served (``carryBreakers()``).
    private let carried: [(EndpointHealth, BreakerMetrics)]

    /// Makes what `backend`'s runtimes share. A breaker of `previous` (the same backend in the
    /// table a reload replaces) is kept, with its state, for an endpoint the reload keeps with
    /// the same failure accrual.
    init(
        _ backend: RoutingTable.Backend, breakers: [BreakerMetrics], previous: BackendShared?, loops: Int, clock: @escaping @Sendable () -> NIODeadline,
        events: BreakerEvents, logger: Logger
    ) {
        self.backend = backend
        self.inFlight = loops > 1 ? BackendInFlight(count: backend.endpoints.count) : nil
        let logger = logger.entering(.service(backend.backend.meta))
        self.logger = logger.targeting("switchyard::backend")
        let breakerLogger = logger.targeting("switchyard::breaker")
        var kept: [Authority: EndpointHealth] = [:]
        if let previous, previous.backend.backend == backend.backend {
            for (endpoint, health) in zip(previous.backend.endpoints, previous.healths) { kept[endpoint.address] = health }
        }
        var carried: [(EndpointHealth, BreakerMetrics)] = []
        // A backend with failure accrual has a breaker series for each endpoint.
        var breakers = breakers.makeIterator()
        healths = backend.endpoints.map { endpoint in
            guard let policy = backend.failureAccrual, let metrics = breakers.next() else { return nil }
            if let health = kept[endpoint.address], health.policy == policy {
                carried.append((health, metrics))
                return health
            }
            return EndpointHealth(
                policy: policy, metrics: metrics, clock: clock, events: events, backend: AccessLogEntry.text(backend.backend.meta),
                address: endpoint.address.description, logger: breakerLogger.entering(.endpoint(endpoint.address)))
        }
        self.carried = carried
    }

    /// The new table is served: kept breakers count in its series from now on.
    func carryBreakers() {
        for (health, metrics) in carried { health.carry(into: metrics) }
    }
}
