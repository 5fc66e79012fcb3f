import Logging
import Prometheus
import SwitchyardCore
import SwitchyardPluginHost
import Synchronization

/// One backend's discovery, live (DESIGN.md §12): the plugin instance, the set it has
/// published so far, and the state of its source. Events arrive on the plugin's thread; each
/// one the host's checks let through is applied whole, the endpoints it adds are resolved
/// (their metadata, by the endpoint resolver chain) and the new set goes to every subscriber
/// (each table generation serving the backend), which hands it to its event loops.
///
/// A feed outlives a reload that keeps its backend's authority, discovery name and config (and
/// the plugin's generation): the running instance and set stay, so a reload causes no refetch
/// and no gap.
final class EndpointFeed: Sendable {
    /// What makes two backends' discoveries the same feed.
    struct Key: Hashable, Sendable {
        let authority: Authority
        /// The backend's metadata (the labels of the feed's series and logs).
        let backend: BackendRef
        /// The whole `discovery` block: name, plugin config, initialFetchTimeout, staleAfter.
        let block: ProxyConfig.Discovery
        /// The plugin build exporting the discovery (an upgraded plugin makes a new feed).
        let definition: ObjectIdentifier

        init(_ discovery: RoutingTable.Discovery, backend: BackendRef) {
            authority = discovery.target.authority
            self.backend = backend
            var block = discovery.config
            block.path = ""
            self.block = block
            definition = ObjectIdentifier(discovery.definition)
        }
    }

    /// Where the source stands: the `state` label of `switchyard_discovery_state`.
    enum Phase: String, CaseIterable, Sendable {
        /// No set yet.
        case pending
        /// The source answered; the set is its answer.
        case synced
        /// The source failed; the last good set serves.
        case error
        /// The source says the name does not exist; the set is empty.
        case notFound = "not_found"
        /// The source failed for longer than `staleAfter`; the set was emptied.
        case stale
    }

    /// One published set: immutable; a later set has a higher sequence number.
    final class EndpointSet: Sendable {
        /// The endpoints in the order the source gave them (additions at the end).
        let endpoints: [RoutingTable.Endpoint]
        /// 0 for the first (empty) set, one more for each set after it.
        let sequence: Int

        init(_ endpoints: [RoutingTable.Endpoint], sequence: Int) {
            self.endpoints = endpoints
            self.sequence = sequence
        }
    }

    typealias Subscriber = @Sendable (EndpointSet) -> Void

    private struct State {
        var order: [Authority] = []
        var endpoints: [Authority: (discovered: DiscoveredEndpoint, resolved: RoutingTable.Endpoint)] = [:]
        var set = EndpointSet([], sequence: 0)
        var phase = Phase.pending
        /// The first RESET or NOT_FOUND came, or `initialFetchTimeout` passed: `/ready` stops waiting.
        var settled = false
        var generation: UInt64 = 0
        /// When the source last answered (anything but ERROR).
        var lastAnswer: ContinuousClock.Instant?
        /// What its last answer said (synced or not_found): a heartbeat says it again.
        var answeredPhase: Phase?
        var lastUpdate: String?
        var lastError: String?
        var subscribers: [ObjectIdentifier: Subscriber] = [:]
        var chain: ResolverChain
    }

    let key: Key
    let discovery: RoutingTable.Discovery
    private let state: Mutex<State>
    private let instance = Mutex<DiscoveryInstance?>(nil)
    private let ticker = Mutex<Task<Void, Never>?>(nil)
    private let logger: Logger
    private let metrics: DiscoveryMetrics
    private let startedAt = ContinuousClock.now

    /// Makes the feed of `backend` (whose discovery the table checked) and its series; nothing
    /// runs until ``start()``.
    init(backend: RoutingTable.Backend, discovery: RoutingTable.Discovery, chain: ResolverChain, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.key = Key(discovery, backend: backend.backend)
        self.discovery = discovery
        self.state = Mutex(State(chain: chain))
        self.logger = logger.entering(.service(backend.backend.meta)).targeting("switchyard::discovery")
        self.metrics = DiscoveryMetrics(registry: registry, backend: backend.backend, discovery: discovery.config.name)
    }

    /// The labels of its series: a feed replacing it with the same ones shares them.
    var metricLabels: DiscoveryMetrics.Identity { metrics.identity }

    /// Makes the plugin's instance and starts it, and the clock that ends the initial wait and
    /// ages a failing source's set.
    /// - Throws: the plugin's refusal (it validated this config before, so only a plugin that
    ///   changed its mind).
    func start() throws(PluginError) {
        metrics.enter(.pending)
        let instance = try discovery.definition.makeInstance(discovery.target) { [weak self] event in self?.apply(event) ?? false }
        self.instance.withLock { $0 = instance }
        instance.start()
        let tick = min(Duration.seconds(1), discovery.config.staleAfter > .zero ? discovery.config.staleAfter / 4 : .seconds(1))
        ticker.withLock {
            $0 = Task.detached { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: max(tick, .milliseconds(50)))
                    self?.tick(now: .now)
                }
            }
        }
    }

    /// Stops the plugin's instance (blocks until its thread no longer publishes: call it off the
    /// event loops) and, unless a feed that replaces it shares them, drops its series.
    func stop(keepingSeries: Bool = false) {
        ticker.withLock {
            $0?.cancel()
            $0 = nil
        }
        instance.withLock { $0 }?.stop()
        state.withLock { $0.subscribers.removeAll() }
        if !keepingSeries { metrics.unregister() }
    }

    deinit {
        ticker.withLock { $0?.cancel() }
    }

    /// Adds a subscriber and returns the current set. `id` removes it again.
    func subscribe(_ id: ObjectIdentifier, _ subscriber: @escaping Subscriber) -> EndpointSet {
        state.withLock { state in
            state.subscribers[id] = subscriber
            return state.set
        }
    }

    /// Removes a subscriber.
    func unsubscribe(_ id: ObjectIdentifier) {
        state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
    }

    /// A reload kept the feed and serves its table now: endpoints resolve with the new table's
    /// chain from now on, those it has included (their metadata may change with the chain).
    func adopt(chain: ResolverChain) {
        let (set, subscribers) = state.withLock { state -> (EndpointSet?, [Subscriber]) in
            state.chain = chain
            for address in state.order {
                guard let known = state.endpoints[address] else { continue }
                state.endpoints[address] = (known.discovered, resolve(known.discovered, chain: chain))
            }
            return (rebuild(&state) ? state.set : nil, Array(state.subscribers.values))
        }
        if let set { for subscriber in subscribers { subscriber(set) } }
    }

    /// Sets the state gauge to its phase (a feed that shares its series with another, while one
    /// replaces the other, may have moved it).
    func publishState() {
        let phase = state.withLock { $0.phase }
        metrics.enter(phase)
    }

    /// Whether `/ready` may stop waiting for it.
    var isSettled: Bool { state.withLock { $0.settled } }

    /// `/config` and `/state`: where the source stands.
    var statusJSON: JSONValue {
        state.withLock { state in
            .object([
                ("name", .string(discovery.config.name)),
                ("state", .string(state.phase.rawValue)),
                ("generation", .number(Double(state.generation))),
                ("lastUpdate", state.lastUpdate.map(JSONValue.string) ?? .null),
                ("lastError", state.lastError.map(JSONValue.string) ?? .null),
            ])
        }
    }

    /// The live set.
    var current: EndpointSet { state.withLock { $0.set } }

    // MARK: Events

    /// Applies one valid event (on the plugin's thread) and tells the subscribers when the set
    /// changed. Returns false when it refuses the event (an addition past the endpoint limit).
    @discardableResult
    func apply(_ event: DiscoveryEvent) -> Bool {
        var refused = false
        let (set, subscribers) = state.withLock { state -> (EndpointSet?, [Subscriber]) in
            state.lastUpdate = SwitchyardLogHandler.timestamp()
            metrics.touch()
            switch event.kind {
            case .reset:
                replace(&state, with: event.endpoints)
                answered(&state, event, phase: .synced)
            case .add:
                let added = event.endpoints.count { state.endpoints[$0.address] == nil }
                guard state.order.count + added <= DiscoveryEvent.maximumEndpoints else {
                    logger.warning(
                        "discovery \(discovery.config.name): an addition would make \(state.order.count + added) endpoints, more than \(DiscoveryEvent.maximumEndpoints); refused")
                    refused = true
                    return (nil, [])
                }
                for endpoint in event.endpoints { upsert(&state, endpoint) }
                answered(&state, event, phase: .synced)
            case .remove:
                let removed = Set(event.endpoints.map(\.address))
                state.order.removeAll { removed.contains($0) }
                for address in removed { state.endpoints[address] = nil }
                answered(&state, event, phase: .synced)
            case .notFound:
                replace(&state, with: [])
                answered(&state, event, phase: .notFound)
            case .current:
                // Nothing changed since the last answer (none yet: still no set).
                if let phase = state.answeredPhase { answered(&state, event, phase: phase) }
            case .error:
                state.lastError = event.message
                if state.phase != .error, state.phase != .stale {
                    logger.warning(
                        "discovery \(discovery.config.name) failed: \(event.message ?? "no reason given"); serving the last good set of \(state.order.count) endpoint(s)")
                    enter(&state, .error)
                }
            }
            return (rebuild(&state) ? state.set : nil, Array(state.subscribers.values))
        }
        guard !refused else { return false }
        metrics.count(event.kind)
        if let set { for subscriber in subscribers { subscriber(set) } }
        return true
    }

    /// The source answered (a set, a delta, NOT_FOUND or a heartbeat).
    private func answered(_ state: inout State, _ event: DiscoveryEvent, phase: Phase) {
        state.lastAnswer = .now
        if event.generation != 0 { state.generation = event.generation }
        if event.kind == .reset || event.kind == .notFound { state.settled = true }
        if state.phase == .error || state.phase == .stale {
            logger.info("discovery \(discovery.config.name) recovered: \(phase.rawValue), \(state.order.count) endpoint(s)")
        }
        if phase == .notFound, state.phase != .notFound {
            logger.warning("discovery \(discovery.config.name): the source does not know \(discovery.target.authority.host); the backend has no endpoints")
        }
        state.lastError = nil
        state.answeredPhase = phase
        enter(&state, phase)
    }

    private func enter(_ state: inout State, _ phase: Phase) {
        guard state.phase != phase else { return }
        state.phase = phase
        metrics.enter(phase)
    }

    private func replace(_ state: inout State, with endpoints: [DiscoveredEndpoint]) {
        let keep = Set(endpoints.map(\.address))
        state.order.removeAll { !keep.contains($0) }
        for address in state.endpoints.keys where !keep.contains(address) { state.endpoints[address] = nil }
        for endpoint in endpoints { upsert(&state, endpoint) }
    }

    /// Adds `endpoint`, or replaces the one with its address (resolving it again only when it
    /// changed).
    private func upsert(_ state: inout State, _ endpoint: DiscoveredEndpoint) {
        if let known = state.endpoints[endpoint.address] {
            if known.discovered == endpoint { return }
        } else {
            state.order.append(endpoint.address)
        }
        state.endpoints[endpoint.address] = (endpoint, resolve(endpoint, chain: state.chain))
    }

    private func resolve(_ endpoint: DiscoveredEndpoint, chain: ResolverChain) -> RoutingTable.Endpoint {
        if let meta = endpoint.meta {
            return RoutingTable.Endpoint(endpoint: EndpointRef(meta), resolvedBy: discovery.config.name, address: endpoint.address, weight: endpoint.weight)
        }
        let labels = endpoint.labels.map { (key: $0.key, value: $0.value) }
        if let answer = chain.resolve(endpoint: endpoint.address, labels: labels) {
            return RoutingTable.Endpoint(endpoint: EndpointRef(answer.meta), resolvedBy: answer.resolver, address: endpoint.address, weight: endpoint.weight)
        }
        // No resolver answered (the chain does not end with `unknown`): route to it anyway, named
        // by its address, rather than drop an endpoint the source says is there.
        logger.warning("no endpoint resolver answered for \(endpoint.address); it serves as Default(\(endpoint.address))")
        return RoutingTable.Endpoint(
            endpoint: EndpointRef(.default(name: endpoint.address.description)), resolvedBy: "none", address: endpoint.address, weight: endpoint.weight)
    }

    /// Publishes a new set when the endpoints differ from the last one's. A stale source's set
    /// is empty, but the feed keeps what it had: an answer (even a heartbeat saying nothing
    /// changed) brings it back, and deltas apply on top of it.
    private func rebuild(_ state: inout State) -> Bool {
        let endpoints = state.phase == .stale ? [] : state.order.compactMap { state.endpoints[$0]?.resolved }
        let old = state.set.endpoints
        let same =
            old.count == endpoints.count
            && zip(old, endpoints).allSatisfy { $0.address == $1.address && $0.weight == $1.weight && $0.endpoint == $1.endpoint }
        guard !same else { return false }
        if logger.logLevel <= .debug {
            let before = Set(old.map(\.address))
            let after = Set(endpoints.map(\.address))
            logger.debug(
                "discovery \(discovery.config.name): \(endpoints.count) endpoint(s), \(after.subtracting(before).count) added, \(before.subtracting(after).count) removed")
        }
        state.set = EndpointSet(endpoints, sequence: state.set.sequence + 1)
        return true
    }

    // MARK: Time

    /// Ends the initial wait once `initialFetchTimeout` passed, and empties the set of a source
    /// that has failed for `staleAfter`.
    func tick(now: ContinuousClock.Instant) {
        let (set, subscribers) = state.withLock { state -> (EndpointSet?, [Subscriber]) in
            if !state.settled, now - startedAt >= discovery.config.initialFetchTimeout {
                state.settled = true
                logger.warning(
                    "discovery \(discovery.config.name) gave no set within initialFetchTimeout \(DurationText.format(discovery.config.initialFetchTimeout)); ready without it (the backend has \(state.order.count) endpoint(s))")
            }
            let staleAfter = discovery.config.staleAfter
            guard staleAfter > .zero, state.phase == .error, now - (state.lastAnswer ?? startedAt) >= staleAfter else { return (nil, []) }
            logger.warning(
                "discovery \(discovery.config.name) has failed for staleAfter \(DurationText.format(staleAfter)); its last set of \(state.order.count) endpoint(s) no longer serves")
            enter(&state, .stale)
            return (rebuild(&state) ? state.set : nil, Array(state.subscribers.values))
        }
        if let set { for subscriber in subscribers { subscriber(set) } }
    }
}
