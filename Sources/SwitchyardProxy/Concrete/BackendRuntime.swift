import Logging
import NIOCore
import SwitchyardCore
import SwitchyardPluginHost
import Synchronization

/// What every event loop's runtime of one backend shares: the fail-fast gate. When one loop's
/// queue times out, every loop sheds new requests until an endpoint is ready again.
final class BackendGate: Sendable {
    private let failFast = Atomic<Bool>(false)

    var isShut: Bool { failFast.load(ordering: .relaxed) }

    /// Shuts the gate: new requests are shed. Returns whether it was open.
    func shut() -> Bool {
        !failFast.exchange(true, ordering: .relaxed)
    }

    /// Opens the gate again. Returns whether it was shut.
    func open() -> Bool {
        failFast.exchange(false, ordering: .relaxed)
    }
}

/// One backend on one event loop (DESIGN.md §2 step 6-7): the queue that holds requests until
/// the balancer has a ready endpoint, the fail-fast gate, and the endpoints (a discovered
/// backend's change as its discovery's set does: ``apply(_:)``).
final class BackendRuntime {
    let config: RoutingTable.Backend
    let balancer: BalancerInstance
    /// The endpoints it serves, in balancer order (a discovery changes them).
    private(set) var endpoints: [EndpointRuntime]
    let eventLoop: EventLoop
    /// The snapshot `endpoints` are made from.
    private var snapshot: EndpointSnapshot
    private let shared: BackendShared
    private let upstreamIdle: TimeAmount
    private let connector: UpstreamConnector
    private var retired = false
    private var queue = CircularBuffer<Exchange>()
    private var failfastTimer: Scheduled<Void>?
    private let gate: BackendGate
    private let metrics: BalancerMetrics
    private let logger: Logger

    init(
        config: RoutingTable.Backend, balancer: BalancerInstance, shared: BackendShared, metrics: BalancerMetrics, upstreamIdle: TimeAmount,
        connector: UpstreamConnector, eventLoop: EventLoop
    ) throws {
        self.gate = shared.gate
        self.shared = shared
        self.metrics = metrics
        self.logger = shared.logger
        self.config = config
        self.balancer = balancer
        self.eventLoop = eventLoop
        self.upstreamIdle = upstreamIdle
        self.connector = connector
        let snapshot = shared.snapshot
        self.snapshot = snapshot
        endpoints = []
        endpoints = try snapshot.endpoints.enumerated().map { i, endpoint in try makeEndpoint(i, endpoint, snapshot, health: snapshot.healths[i]) }
        balancer.update(snapshot.endpoints.map(BalancerEndpoint.init), backendInFlight: snapshot.inFlight)
        for endpoint in endpoints {
            join(endpoint)
            publishLoad(endpoint)
        }
        shared.register(self)
    }

    private func makeEndpoint(_ index: Int, _ endpoint: RoutingTable.Endpoint, _ snapshot: EndpointSnapshot, health: EndpointHealth?) throws
        -> EndpointRuntime
    {
        try EndpointRuntime(
            index: index, config: endpoint, loadModel: balancer.loadModel, proto: config.proto, health: health,
            backendInFlight: snapshot.inFlight, upstreamIdle: upstreamIdle, connector: connector, logger: logger.entering(.endpoint(endpoint.address)),
            eventLoop: eventLoop)
    }

    /// Points `endpoint` at this backend and its breaker; a breaker a reload or an earlier
    /// snapshot carried over may hold it out of rotation.
    private func join(_ endpoint: EndpointRuntime) {
        endpoint.backend = self
        if let health = endpoint.health {
            health.register(endpoint)
            if !health.isReady { balancer.setReady(endpoint.index, false) }
        }
    }

    /// Serves `snapshot`'s endpoints from now on (a discovery changed them), on this loop. An
    /// endpoint it keeps (by address) keeps its connections, load, peak-EWMA and breaker; a new
    /// one starts ready; one it drops retires as a reload retires it (its requests finish, its
    /// connections close). The balancer hears the new set with where each kept endpoint was,
    /// and a backend that had no ready endpoint sends its queue on.
    func apply(_ snapshot: EndpointSnapshot) {
        guard snapshot !== self.snapshot, !retired else { return }
        self.snapshot = snapshot
        var running = Dictionary(endpoints.map { ($0.config.address, $0) }, uniquingKeysWith: { a, _ in a })
        var next: [EndpointRuntime] = []
        next.reserveCapacity(snapshot.endpoints.count)
        for (i, endpoint) in snapshot.endpoints.enumerated() {
            // Kept only with the same breaker: a burst this loop skipped may have dropped the
            // address and brought it back with a fresh one.
            if let kept = running[endpoint.address], kept.health === snapshot.healths[i] {
                running[endpoint.address] = nil
                kept.move(to: next.count, config: endpoint, backendInFlight: snapshot.inFlight)
                next.append(kept)
            } else {
                do {
                    next.append(try makeEndpoint(next.count, endpoint, snapshot, health: snapshot.healths[i]))
                } catch {
                    // An IP literal always makes a socket address; skip one that does not.
                    logger.warning("endpoint \(endpoint.address) left out: \(error)")
                }
            }
        }
        for gone in running.values {
            gone.backend = nil
            gone.retire()
        }
        endpoints = next
        balancer.update(next.map { BalancerEndpoint($0.config) }, backendInFlight: snapshot.inFlight)
        for endpoint in next {
            if endpoint.backend === self {
                if let health = endpoint.health, !health.isReady { balancer.setReady(endpoint.index, false) }
            } else {
                join(endpoint)
            }
            publishLoad(endpoint)
        }
        if balancer.readyCount > 0 { sendQueue() }
    }

    /// A reload replaced this runtime's table (or it was never served): later snapshots are not
    /// applied, and its endpoints retire (each leaves it once its requests in flight ended). This
    /// is what ends the reference cycles between it, its endpoints and its ``BackendShared``.
    func retire() {
        guard !retired else { return }
        retired = true
        for endpoint in endpoints { endpoint.retire() }
        shared.unregister(self)
    }

    /// While true, new requests are shed (503) until an endpoint is ready again.
    var inFailFast: Bool { gate.isShut }

    /// Whether a distribution may choose this backend now.
    var isAvailable: Bool { !gate.isShut }

    /// Renders an error raised in this backend's stack: `Service web.prod: <message>`.
    func describe(_ message: String) -> String { config.backend.meta.describe(error: message) }

    /// Sends `exchange` to an endpoint now, or queues it.
    func dispatch(_ exchange: Exchange) {
        decayEstimates(now: exchange.routedAt.uptimeNanoseconds)
        if queue.isEmpty, let (endpoint, probe) = pick(for: exchange) {
            endpoint.start(exchange, probe: probe)
            return
        }
        if inFailFast {
            exchange.fail(.loadShed(.inFailFast))
        } else if queue.count >= config.queueCapacity {
            exchange.fail(.loadShed(.queueFull))
        } else {
            queue.append(exchange)
            metrics.queueLength.increment()
            exchange.enqueued(at: self)
            if failfastTimer == nil {
                failfastTimer = eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(config.failfastTimeout.nanoseconds)) {
                    self.enterFailFast()
                }
            }
        }
    }

    /// The balancer's choice for `exchange`, admitted by the endpoint's breaker, and whether it
    /// is the endpoint's probe. A refusal (another loop took the probe) takes the endpoint out
    /// here too, and the balancer picks again.
    private func pick(for exchange: Exchange) -> (EndpointRuntime, probe: Bool)? {
        var hash: UInt64?
        if let header = config.hashHeader, let value = exchange.requestHead.fields.first(named: header) {
            hash = StableHash.hash(value)
        }
        while balancer.readyCount > 0, let index = balancer.pick(hash: hash) {
            let endpoint = endpoints[index]
            guard let health = endpoint.health else { return (endpoint, false) }
            switch health.admit() {
            case .admitted: return (endpoint, false)
            case .probe: return (endpoint, true)
            case .refused: balancer.setReady(index, false)
            }
        }
        return nil
    }

    /// Marks an endpoint ready or not; a ready endpoint ends fail-fast and drains the queue.
    func setReady(_ endpoint: EndpointRuntime, _ ready: Bool) {
        balancer.setReady(endpoint.index, ready)
        if ready { sendQueue() }
    }

    /// An endpoint is ready: fail-fast ends and queued requests go out while the balancer has
    /// a ready endpoint for them.
    private func sendQueue() {
        if gate.open() { logger.info("backend left fail-fast: an endpoint is ready") }
        while let exchange = queue.first, let (endpoint, probe) = pick(for: exchange) {
            _ = queue.popFirst()
            metrics.queueLength.decrement()
            endpoint.start(exchange, probe: probe)
        }
        if queue.isEmpty { cancelTimer() }
    }

    /// Takes a queued exchange out (its client went away).
    func remove(_ exchange: Exchange) {
        if let i = queue.firstIndex(where: { $0 === exchange }) {
            queue.remove(at: i)
            metrics.queueLength.decrement()
        }
        if queue.isEmpty { cancelTimer() }
    }

    /// Waited `failfastTimeout` without a ready endpoint: fail the queue (504) and shed new
    /// requests (503) until an endpoint is ready.
    private func enterFailFast() {
        failfastTimer = nil
        guard !queue.isEmpty else { return }
        if gate.shut() {
            logger.warning(
                "backend entered fail-fast: no endpoint was ready within \(DurationText.format(config.failfastTimeout)); shedding requests until one is")
        }
        while let exchange = queue.popFirst() {
            metrics.queueLength.decrement()
            exchange.fail(.failFast)
        }
    }

    private func cancelTimer() {
        failfastTimer?.cancel()
        failfastTimer = nil
    }

    /// How often, at most, every endpoint's RTT estimate decays toward zero.
    static let decayInterval: UInt64 = 1_000_000_000
    /// When the estimates last decayed (monotonic nanoseconds).
    private var decayedAt: UInt64 = 0

    /// Once a second at most, lets time pull each idle endpoint's peak-EWMA toward zero and
    /// publishes the loads (tower's peak-EWMA decays each time a load is read). Without it an
    /// endpoint that never got a request keeps its `defaultRtt` for good, and p2c never picks
    /// it while the others answer faster.
    private func decayEstimates(now: UInt64) {
        guard now >= decayedAt &+ Self.decayInterval else { return }
        decayedAt = now
        // Only idle endpoints: one with requests out is sampled when they answer, and one that
        // never answers must not look faster the longer it hangs.
        for endpoint in endpoints where endpoint.inFlight == 0 {
            endpoint.decayEstimate(now: now)
            publishLoad(endpoint)
        }
    }

    /// Publishes an endpoint's load to the balancer's table.
    func publishLoad(_ endpoint: EndpointRuntime) {
        balancer.setLoad(endpoint.index, inFlight: endpoint.inFlight, cost: endpoint.cost)
    }
}

extension BalancerEndpoint {
    /// The balancer's view of a table endpoint.
    init(_ endpoint: RoutingTable.Endpoint) {
        self.init(address: endpoint.address.description, weight: endpoint.weight)
    }
}
