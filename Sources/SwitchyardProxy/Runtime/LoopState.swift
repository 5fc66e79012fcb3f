import Logging
import NIOCore
import SwitchyardCore
import SwitchyardPluginHost

/// Everything one event loop needs to proxy, owned by that loop: its balancer instances,
/// queues, endpoint load and connection pools for every backend. Nothing here is shared
/// between loops, so the request path takes no locks.
final class LoopState {
    let eventLoop: EventLoop
    let table: RoutingTable
    let backends: [BackendRuntime]
    var random: Xoshiro256
    /// The table's series; the request path only increments them.
    let metrics: ProxyMetrics
    /// This loop's response-status handles.
    var responseStatuses = ResponseStatusCounters()

    init(eventLoop: EventLoop, loopIndex: Int, table: RoutingTable, metrics: ProxyMetrics, shared: [BackendShared], seed: UInt64) throws {
        self.eventLoop = eventLoop
        self.table = table
        self.metrics = metrics
        var random = Xoshiro256(seed: seed)
        var backends: [BackendRuntime] = []
        for (index, backend) in table.backends.enumerated() {
            let balancer = try backend.balancer.makeInstance(configJSON: backend.balancerConfig, seed: random.next(), loopIndex: loopIndex)
            backends.append(
                try BackendRuntime(
                    config: backend, balancer: balancer, shared: shared[index], metrics: metrics.balancers[index],
                    upstreamIdle: TimeAmount(table.config.timeouts.upstreamIdle), eventLoop: eventLoop))
        }
        self.backends = backends
        self.random = random
    }

    /// A reload replaced this state: requests already here finish, idle upstream connections
    /// close, and the rest close as their last request ends.
    func retire() {
        for backend in backends {
            for endpoint in backend.endpoints { endpoint.retire() }
        }
    }
}

/// One event loop's current ``LoopState``: connections read it at each request, so a reload
/// reaches connections that are already open. It also knows the loop's client connections, so
/// a drain can tell each to finish.
final class LoopSlot {
    var state: LoopState
    /// The route timeouts of every exchange on this loop, whatever table routed it.
    let watchdog: ExchangeWatchdog
    private var connections: [ObjectIdentifier: Channel] = [:]
    /// Set by a drain: connections accepted or set up from now on hear it too.
    private(set) var draining = false

    init(_ state: LoopState) {
        self.state = state
        self.watchdog = ExchangeWatchdog(eventLoop: state.eventLoop)
    }

    /// A client connection was accepted on this loop (its pipeline set up). One accepted as
    /// a drain began hears it at once.
    func track(_ channel: Channel) {
        connections[ObjectIdentifier(channel)] = channel
        if draining { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }

    /// A client connection closed.
    func untrack(_ channel: Channel) {
        connections[ObjectIdentifier(channel)] = nil
    }

    /// A drain: every client connection hears `ChannelShouldQuiesceEvent`.
    func quiesce() {
        draining = true
        for channel in connections.values {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }
}

/// What one backend's runtimes on every loop share: the fail-fast gate, its logger (inside
/// the backend's `service{..}` span) and, with failure accrual, each endpoint's breaker.
struct BackendShared: Sendable {
    let backend: RoutingTable.Backend
    let gate = BackendGate()
    let healths: [EndpointHealth?]
    let logger: Logger
    /// Breakers kept from the table a reload replaces, and the series they move to once the
    /// new table is served (``carryBreakers()``).
    private let carried: [(EndpointHealth, BreakerMetrics)]

    /// Makes what `backend`'s runtimes share. A breaker of `previous` (the same backend in the
    /// table a reload replaces) is kept, with its state, for an endpoint the reload keeps with
    /// the same failure accrual.
    init(_ backend: RoutingTable.Backend, breakers: [BreakerMetrics]?, previous: BackendShared?, logger: Logger) {
        self.backend = backend
        let logger = logger.entering(.service(backend.backend.meta))
        self.logger = logger.targeting("switchyard::backend")
        let breakerLogger = logger.targeting("switchyard::breaker")
        var kept: [Authority: EndpointHealth] = [:]
        if let previous, previous.backend.backend == backend.backend {
            for (endpoint, health) in zip(previous.backend.endpoints, previous.healths) { kept[endpoint.address] = health }
        }
        var carried: [(EndpointHealth, BreakerMetrics)] = []
        healths = backend.endpoints.enumerated().map { index, endpoint in
            backend.failureAccrual.map { policy in
                if let health = kept[endpoint.address], health.policy == policy {
                    carried.append((health, breakers![index]))
                    return health
                }
                return EndpointHealth(policy: policy, metrics: breakers![index], logger: breakerLogger.entering(.endpoint(endpoint.address)))
            }
        }
        self.carried = carried
    }

    /// The new table is served: kept breakers count in its series from now on.
    func carryBreakers() {
        for (health, metrics) in carried { health.carry(into: metrics) }
    }
}
