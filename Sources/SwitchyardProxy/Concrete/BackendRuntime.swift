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
/// the balancer has a ready endpoint, the fail-fast gate, and the endpoints.
final class BackendRuntime {
    let config: RoutingTable.Backend
    let balancer: BalancerInstance
    let endpoints: [EndpointRuntime]
    let eventLoop: EventLoop
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
        self.metrics = metrics
        self.logger = shared.logger
        self.config = config
        self.balancer = balancer
        self.eventLoop = eventLoop
        let endpoints = try config.endpoints.enumerated().map { i, endpoint in
            try EndpointRuntime(
                index: i, config: endpoint, loadModel: balancer.loadModel, proto: config.proto, health: shared.healths[i],
                backendInFlight: shared.inFlight, upstreamIdle: upstreamIdle, connector: connector, logger: shared.logger.entering(.endpoint(endpoint.address)), eventLoop: eventLoop)
        }
        self.endpoints = endpoints
        balancer.update(
            config.endpoints.map { BalancerEndpoint(address: $0.address.description, weight: $0.weight) }, backendInFlight: shared.inFlight)
        for endpoint in endpoints {
            endpoint.backend = self
            if let health = endpoint.health {
                health.register(endpoint)
                // A breaker a reload carried over may hold the endpoint out of rotation.
                if !health.isReady { balancer.setReady(endpoint.index, false) }
            }
        }
    }

    /// While true, new requests are shed (503) until an endpoint is ready again.
    var inFailFast: Bool { gate.isShut }

    /// Whether a distribution may choose this backend now.
    var isAvailable: Bool { !gate.isShut }

    /// Renders an error raised in this backend's stack: `Service web.prod: <message>`.
    func describe(_ message: String) -> String { config.backend.meta.describe(error: message) }

    /// Sends `exchange` to an endpoint now, or queues it.
    func dispatch(_ exchange: Exchange) {
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
        if let header = config.hashHeader, let value = exchange.requestHead.headers.first(name: header) {
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
        guard ready else { return }
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

    /// Publishes an endpoint's load to the balancer's table.
    func publishLoad(_ endpoint: EndpointRuntime) {
        balancer.setLoad(endpoint.index, inFlight: endpoint.inFlight, cost: endpoint.ewma.cost(inFlight: endpoint.inFlight))
    }
}
