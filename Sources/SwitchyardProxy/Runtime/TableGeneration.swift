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
        // A discovery the running table has with the same authority, name, config and plugin
        // build keeps running, with its set; the others start anew.
        let runningFeeds = Dictionary((previous?.shared ?? []).compactMap { $0.feed.map { ($0.key, $0) } }, uniquingKeysWith: { a, _ in a })
        var startingFeeds: [EndpointFeed] = []
        self.shared = table.backends.enumerated().map { index, backend in
            let feed = backend.discovery.map { discovery in
                if let running = runningFeeds[EndpointFeed.Key(discovery, backend: backend.backend)] { return running }
                let feed = EndpointFeed(
                    backend: backend, discovery: discovery, chain: table.endpointResolvers, registry: exporter.registry, logger: logger)
                startingFeeds.append(feed)
                return feed
            }
            return BackendShared(
                backend, index: index, metrics: metrics, previous: previousByAuthority[backend.authority], feed: feed, loops: loops,
                clock: environment.clock, events: environment.events, logger: logger)
        }
        self.startingFeeds = startingFeeds
    }

    /// Discoveries this generation started (the others it took over from the running one).
    private let startingFeeds: [EndpointFeed]

    /// Starts the discoveries this generation brings, before its loop states are made, and
    /// waits (as Envoy warms a cluster) until each gave its first set or ran out of its
    /// `initialFetchTimeout`, so a reload that changes a discovery does not serve its backend
    /// empty meanwhile.
    /// - Throws: a plugin's refusal; the caller then abandons the generation.
    func startDiscoveries() async throws(PluginError) {
        for feed in startingFeeds { try feed.start() }
        // A cancelled wait (the proxy stopping) ends at once; the caller's next step sees it.
        while !Task.isCancelled, !startingFeeds.allSatisfy(\.isSettled) {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Whether every discovery gave its first set (or ran out of `initialFetchTimeout`), and
    /// each discovered backend's live endpoints and state (by backend index).
    var discoveries: (settled: Bool, backends: [Int: RoutingTable.LiveBackend]) {
        var backends: [Int: RoutingTable.LiveBackend] = [:]
        var settled = true
        for (index, backend) in shared.enumerated() {
            guard let feed = backend.feed else { continue }
            settled = settled && feed.isSettled
            backends[index] = (backend.snapshot.endpoints, feed.statusJSON)
        }
        return (settled, backends)
    }

    /// Stops the discoveries of this generation that `successor` does not keep (all of them when
    /// nil: the proxy stops). Blocks while their plugins' threads wind down.
    func stopDiscoveries(keptBy successor: TableGeneration?) {
        for backend in shared { backend.unfollow() }
        let successorFeeds = (successor?.shared ?? []).compactMap(\.feed)
        Self.stop(shared.compactMap(\.feed), sparing: successorFeeds)
    }

    /// Stops `feeds` but those in `live`, keeping the series a feed in `live` shares.
    private static func stop(_ feeds: [EndpointFeed], sparing live: [EndpointFeed]) {
        let running = Set(live.map(ObjectIdentifier.init))
        let shared = Set(live.map(\.metricLabels))
        for feed in feeds where !running.contains(ObjectIdentifier(feed)) {
            feed.stop(keepingSeries: shared.contains(feed.metricLabels))
        }
    }

    /// Step 2: every loop's state, each built on its own loop.
    /// When one cannot be built, the ones that were are retired (on their loops) and never served.
    func makeLoopStates(on group: EventLoopGroup) async throws -> [NIOLoopBound<LoopState>] {
        var states: [NIOLoopBound<LoopState>] = []
        do {
            for (index, loop) in group.makeIterator().enumerated() {
                let seed = UInt64.random(in: .min ... .max)
                states.append(
                    try await loop.submit {
                        NIOLoopBound(
                            try LoopState(eventLoop: loop, loopIndex: index, generation: self, seed: seed, connector: self.environment.connector),
                            eventLoop: loop)
                    }.get())
            }
        } catch {
            await LoopState.retire(states)
            throw error
        }
        return states
    }

    /// Step 3 (a reload): serves `states` (from ``makeLoopStates(on:)``) in `slots`, retiring
    /// `previous`.
    func serve(_ states: [NIOLoopBound<LoopState>], in slots: [NIOLoopBound<LoopSlot>], replacing previous: TableGeneration) async throws {
        activate()
        for (index, (slot, state)) in zip(slots, states).enumerated() {
            do {
                try await slot.eventLoop.submit {
                    let old = slot.value.state
                    slot.value.state = state.value
                    old.retire()
                }.get()
            } catch {
                await LoopState.retire(states[index...])  // never served
                throw error
            }
        }
        previous.metrics.retire(replacedBy: metrics, breakers: previous.breakerMetrics, nextBreakers: breakerMetrics)
    }

    /// Every breaker series its backends use now, listed and discovered.
    private var breakerMetrics: [BreakerMetrics] { shared.flatMap(\.breakerMetrics) }

    /// Its series take over: every endpoint counts as ready (a kept breaker that is not
    /// moves its endpoint to pending as it is carried into the new series).
    func activate() {
        for (balancer, backend) in zip(metrics.balancers, shared) {
            backend.feed?.adopt(chain: table.endpointResolvers)
            backend.feed?.publishState()
            balancer.publishAllReady(count: backend.snapshot.endpoints.count)
            backend.carryBreakers()
            backend.follow()
        }
    }

    /// Step 4: the generation will not be served (a later step failed): its series that
    /// `running`'s does not have leave `/metrics`.
    func abandon(keeping running: TableGeneration) {
        metrics.retire(replacedBy: running.metrics, breakers: breakerMetrics, nextBreakers: running.breakerMetrics)
        for feed in running.shared.compactMap(\.feed) { feed.publishState() }
        Self.stop(startingFeeds, sparing: running.shared.compactMap(\.feed))
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
