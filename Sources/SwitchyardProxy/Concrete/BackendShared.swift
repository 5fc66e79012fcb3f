import Logging
import NIOCore
import SwitchyardCore
import SwitchyardPluginHost
import Synchronization

/// What one backend's runtimes on every loop share: the fail-fast gate, its logger (inside
/// the backend's `service{..}` span), the endpoints they serve (``EndpointSnapshot``) with each
/// endpoint's breaker, and, for a discovered backend, its feed.
///
/// A listed backend's snapshot never changes. A discovered backend's follows its feed: each
/// new set becomes a snapshot (breakers kept by address) that every loop's runtime applies on
/// its own loop; a burst of sets costs each loop one apply of the latest.
final class BackendShared: Sendable {
    let backend: RoutingTable.Backend
    let gate = BackendGate()
    let logger: Logger
    /// The backend's discovery, when it has one.
    let feed: EndpointFeed?
    private let loops: Int
    private let index: Int
    private let metrics: ProxyMetrics
    private let makeHealth: @Sendable (RoutingTable.Endpoint, BreakerMetrics) -> EndpointHealth?

    private struct State {
        var snapshot: EndpointSnapshot
        /// Breakers by address, and the series each counts in.
        var healths: [Authority: (health: EndpointHealth, metrics: BreakerMetrics)] = [:]
        /// Breakers kept from the table a reload replaces, and the series they move to once the
        /// new table is served (``carryBreakers()``).
        var carried: [(EndpointHealth, BreakerMetrics)] = []
        /// Each loop's runtime, to hand new snapshots to.
        var runtimes: [RuntimeRef] = []
        /// The feed's set the snapshot was made from (its sequence number).
        var sequence = 0
    }

    private let state: Mutex<State>

    /// The endpoints every loop serves now.
    var snapshot: EndpointSnapshot { state.withLock { $0.snapshot } }

    /// The breaker series its endpoints count in now.
    var breakerMetrics: [BreakerMetrics] { state.withLock { $0.healths.values.map(\.metrics) } }

    /// Makes what backend `index` of `metrics`' table shares. A breaker of `previous` (the same
    /// backend in the table a reload replaces) is kept, with its state, for an endpoint the
    /// reload keeps with the same failure accrual. A discovered backend subscribes to `feed`.
    init(
        _ backend: RoutingTable.Backend, index: Int, metrics: ProxyMetrics, previous: BackendShared?, feed: EndpointFeed?, loops: Int,
        clock: @escaping @Sendable () -> NIODeadline, events: BreakerEvents, logger: Logger
    ) {
        self.backend = backend
        self.index = index
        self.metrics = metrics
        self.loops = loops
        self.feed = feed
        let logger = logger.entering(.service(backend.backend.meta))
        self.logger = logger.targeting("switchyard::backend")
        let breakerLogger = logger.targeting("switchyard::breaker")
        let makeHealth: @Sendable (RoutingTable.Endpoint, BreakerMetrics) -> EndpointHealth? = { endpoint, breakerMetrics in
            guard let policy = backend.failureAccrual else { return nil }
            return EndpointHealth(
                policy: policy, metrics: breakerMetrics, clock: clock, events: events, backend: AccessLogEntry.text(backend.backend.meta),
                address: endpoint.address.description, logger: breakerLogger.entering(.endpoint(endpoint.address)))
        }
        self.makeHealth = makeHealth
        var kept: [Authority: EndpointHealth] = [:]
        if let previous, previous.backend.backend == backend.backend {
            kept = previous.state.withLock { $0.healths.mapValues(\.health) }
        }
        var initial = State(snapshot: EndpointSnapshot(endpoints: [], healths: [], loops: loops))
        let initialSet = feed?.current
        let endpoints = initialSet?.endpoints ?? backend.endpoints
        // A listed backend's breaker series were made with the table's; a discovered one's
        // are made as its endpoints come.
        var listedBreakers = feed == nil ? metrics.breakers[index].makeIterator() : [].makeIterator()
        let healths = endpoints.map { endpoint -> EndpointHealth? in
            guard let policy = backend.failureAccrual,
                let breakerMetrics = feed == nil ? listedBreakers.next() : metrics.breakerMetrics(backend: index, endpoint: endpoint.address)
            else { return nil }
            if let health = kept[endpoint.address], health.policy == policy {
                initial.carried.append((health, breakerMetrics))
                initial.healths[endpoint.address] = (health, breakerMetrics)
                return health
            }
            let health = makeHealth(endpoint, breakerMetrics)
            if let health { initial.healths[endpoint.address] = (health, breakerMetrics) }
            return health
        }
        initial.snapshot = EndpointSnapshot(endpoints: endpoints, healths: healths, loops: loops)
        initial.sequence = initialSet?.sequence ?? 0
        state = Mutex(initial)
    }

    /// Starts following the feed (once the generation is about to be served).
    func follow() {
        guard let feed else { return }
        _ = feed.subscribe(ObjectIdentifier(self)) { [weak self] _ in self?.feedChanged() }
        feedChanged()
    }

    /// The generation was replaced: no more snapshots.
    func unfollow() {
        feed?.unsubscribe(ObjectIdentifier(self))
        state.withLock { $0.runtimes = [] }
    }

    /// The new table is served: kept breakers count in its series from now on.
    func carryBreakers() {
        let carried = state.withLock { state in
            defer { state.carried = [] }
            return state.carried
        }
        for (health, metrics) in carried { health.carry(into: metrics) }
    }

    /// Registers one loop's runtime (on its loop): it hears every later snapshot.
    func register(_ runtime: BackendRuntime) {
        let ref = RuntimeRef(runtime)
        state.withLock { $0.runtimes.append(ref) }
    }

    /// Forgets a runtime that retired (on its loop): it hears no more snapshots.
    func unregister(_ runtime: BackendRuntime) {
        let id = ObjectIdentifier(runtime)
        state.withLock { $0.runtimes.removeAll { $0.id == id } }
    }

    /// The balancer gauges count the snapshot's endpoints by breaker state.
    private func publishEndpointGauges() {
        let healths = snapshot.healths
        let ready = healths.count { $0?.isReady ?? true }
        metrics.balancers[index].setEndpoints(ready: ready, pending: healths.count - ready)
    }

    /// A discovered backend's set changed: the next snapshot, with breakers kept by address, and
    /// a turn on each loop to apply it.
    private func feedChanged() {
        guard let feed else { return }
        // Read before taking this lock (the feed's lock may be held while it resolves a large
        // set; loops read this one); a set older than the one applied is dropped.
        let set = feed.current
        let (runtimes, dropped) = state.withLock { state -> ([RuntimeRef], [BreakerMetrics]) in
            guard set.sequence > state.sequence else { return ([], []) }
            state.sequence = set.sequence
            var healths: [Authority: (health: EndpointHealth, metrics: BreakerMetrics)] = [:]
            let list = set.endpoints.map { endpoint -> EndpointHealth? in
                if let known = state.healths[endpoint.address] {
                    healths[endpoint.address] = known
                    return known.health
                }
                guard backend.failureAccrual != nil else { return nil }
                let breakerMetrics = metrics.breakerMetrics(backend: index, endpoint: endpoint.address)
                guard let health = makeHealth(endpoint, breakerMetrics) else { return nil }
                healths[endpoint.address] = (health, breakerMetrics)
                return health
            }
            let dropped = state.healths.filter { healths[$0.key] == nil }.map(\.value.metrics)
            state.healths = healths
            state.snapshot = EndpointSnapshot(endpoints: set.endpoints, healths: list, loops: loops)
            return (state.runtimes, dropped)
        }
        metrics.drop(dropped)
        publishEndpointGauges()
        for ref in runtimes { ref.schedule(self) }
    }
}

/// One loop's runtime of a backend, as the backend's shared state reaches it: from any thread
/// through its event loop. A snapshot change schedules one apply; more changes before it runs
/// ride along (it applies the latest).
///
/// Strong: a weak reference would give the runtime a side table, and every retain and release
/// of it on the request path the slow path. The runtime unregisters as it retires, and the
/// generation's end drops every one left (``BackendShared/unfollow()``).
final class RuntimeRef: Sendable {
    private let runtime: NIOLoopBound<BackendRuntime>
    private let scheduled = Atomic<Bool>(false)
    /// The runtime's identity, to unregister it from any thread.
    let id: ObjectIdentifier

    init(_ runtime: BackendRuntime) {
        self.runtime = NIOLoopBound(runtime, eventLoop: runtime.eventLoop)
        self.id = ObjectIdentifier(runtime)
    }

    /// Applies `shared`'s latest snapshot on the runtime's loop, once per burst.
    func schedule(_ shared: BackendShared) {
        guard !scheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        runtime.eventLoop.execute {
            self.scheduled.store(false, ordering: .releasing)
            self.runtime.value.apply(shared.snapshot)
        }
    }
}
