import Logging
import NIOCore
import NIOPosix
import SwitchyardCore
import Synchronization

/// The running proxy: one listener for HTTP/1.1 and HTTP/2 (prior knowledge), and on each
/// event loop a ``LoopSlot`` holding the ``LoopState`` (balancers, queues, pools) of the table
/// it serves. A reload puts a new state in every slot; requests already routed finish on the
/// old one.
public final class ProxyServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let slots: [NIOLoopBound<LoopSlot>]
    /// The client-connection limit and count.
    private let connections: ConnectionLimiter
    /// What the served table's backends share across loops.
    private let shared: Mutex<[BackendShared]>
    private let logger: Logger

    /// One event loop per core.
    public static var defaultThreadCount: Int { System.coreCount }

    /// The address it listens on (the real port when the config asked for port 0).
    public var localAddress: SocketAddress? { channel.localAddress }

    /// Starts listening on `table.config.listen` with `threads` event loops, counting into
    /// `metrics` (made from the same table) and admitting connections through `connections`.
    static func start(
        table: RoutingTable, metrics: ProxyMetrics, connections: ConnectionLimiter, threads: Int, logger: Logger
    ) async throws -> ProxyServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(threads, 1))
        do {
            let shared = makeShared(table: table, metrics: metrics, previous: [], logger: logger)
            let states = try await makeStates(table: table, metrics: metrics, shared: shared, group: group)
            for balancer in metrics.balancers { balancer.publishAllReady() }
            var slots: [NIOLoopBound<LoopSlot>] = []
            for state in states {
                slots.append(try await state.eventLoop.submit { NIOLoopBound(LoopSlot(state.value), eventLoop: state.eventLoop) }.get())
            }
            let loopSlots = slots
            let listen = table.config.listen
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard connections.admit() else {
                            channel.close(promise: nil)
                            return
                        }
                        guard let slot = loopSlots.first(where: { $0.eventLoop === channel.eventLoop })?.value else {
                            connections.release()
                            throw ChannelError.inappropriateOperationForState
                        }
                        channel.closeFuture.assumeIsolated().whenComplete { _ in
                            connections.release()
                            slot.untrack(channel)
                        }
                        try channel.pipeline.syncOperations.addHandler(ProtocolDetector(slot: slot))
                        slot.track(channel)
                    }
                }
                .bind(host: listen.host, port: Int(listen.port))
                .get()
            logger.info("proxy listening on \(listen.host):\(channel.localAddress?.port ?? 0) with \(threads) event loops")
            return ProxyServer(group: group, channel: channel, slots: slots, connections: connections, shared: shared, logger: logger)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// What `table`'s backends share across loops; breakers of `previous` carry over.
    private static func makeShared(table: RoutingTable, metrics: ProxyMetrics, previous: [BackendShared], logger: Logger) -> [BackendShared] {
        let previousByAuthority = Dictionary(previous.map { ($0.backend.authority, $0) }, uniquingKeysWith: { a, _ in a })
        return table.backends.enumerated().map { index, backend in
            BackendShared(backend, breakers: metrics.breakers[index], previous: previousByAuthority[backend.authority], logger: logger)
        }
    }

    /// Builds every loop's state for `table`, each on its own loop.
    private static func makeStates(
        table: RoutingTable, metrics: ProxyMetrics, shared: [BackendShared], group: MultiThreadedEventLoopGroup
    ) async throws -> [NIOLoopBound<LoopState>] {
        var states: [NIOLoopBound<LoopState>] = []
        for (index, loop) in group.makeIterator().enumerated() {
            let seed = UInt64.random(in: .min ... .max)
            states.append(
                try await loop.submit {
                    NIOLoopBound(
                        try LoopState(eventLoop: loop, loopIndex: index, table: table, metrics: metrics, shared: shared, seed: seed),
                        eventLoop: loop)
                }.get())
        }
        return states
    }

    private init(
        group: MultiThreadedEventLoopGroup, channel: Channel, slots: [NIOLoopBound<LoopSlot>], connections: ConnectionLimiter,
        shared: [BackendShared], logger: Logger
    ) {
        self.group = group
        self.channel = channel
        self.slots = slots
        self.connections = connections
        self.shared = Mutex(shared)
        self.logger = logger
    }

    /// Serves `table` from now on: new requests route with it, requests already routed finish
    /// where they are, the old table's idle upstream connections close, and the breakers of
    /// endpoints both tables have carry over.
    func install(table: RoutingTable, metrics: ProxyMetrics) async throws {
        let shared = Self.makeShared(table: table, metrics: metrics, previous: self.shared.withLock { $0 }, logger: logger)
        let states = try await Self.makeStates(table: table, metrics: metrics, shared: shared, group: group)
        self.shared.withLock { $0 = shared }
        for balancer in metrics.balancers { balancer.publishAllReady() }
        for backend in shared { backend.carryBreakers() }
        for (slot, state) in zip(slots, states) {
            try await slot.eventLoop.submit {
                let old = slot.value.state
                slot.value.state = state.value
                old.retire()
            }.get()
        }
    }

    /// Calls `callback` once the listener closes.
    public func whenClosed(_ callback: @escaping @Sendable () -> Void) {
        channel.closeFuture.whenComplete { _ in callback() }
    }

    /// Drains (as Envoy and nginx do): stops listening, tells every client connection to
    /// finish (HTTP/1.1 responses say `Connection: close` and idle connections close; HTTP/2
    /// gets a graceful double GOAWAY), waits up to `grace` for every client connection to
    /// close, then closes what is left and shuts the event loops down.
    public func stop(grace: Duration = .zero) async {
        try? await channel.close()
        for slot in slots {
            try? await slot.eventLoop.submit { slot.value.quiesce() }.get()
        }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, connections.count > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        try? await group.shutdownGracefully()
    }
}
