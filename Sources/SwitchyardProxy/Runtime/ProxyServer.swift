import Logging
import NIOCore
import NIOPosix
import SwitchyardCore
import Synchronization

/// The running proxy: one listener for HTTP/1.1 and HTTP/2 (prior knowledge), and on each
/// event loop a ``LoopSlot`` holding the ``LoopState`` (balancers, queues, pools, router) of
/// the ``TableGeneration`` it serves. A reload installs a new generation; requests already
/// routed finish on the old one.
public final class ProxyServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let slots: [NIOLoopBound<LoopSlot>]
    /// The client-connection limit and count.
    private let connections: ConnectionLimiter
    /// The generation being served.
    private let generation: Mutex<TableGeneration>
    private let logger: Logger

    /// One event loop per core.
    public static var defaultThreadCount: Int { System.coreCount }

    /// The address it listens on (the real port when the config asked for port 0).
    public var localAddress: SocketAddress? { channel.localAddress }

    /// The generation being served.
    var served: TableGeneration { generation.withLock { $0 } }

    /// Starts serving `generation` on its table's `listen` address with `threads` event
    /// loops, admitting connections through `connections`.
    static func start(generation: TableGeneration, connections: ConnectionLimiter, threads: Int, logger: Logger) async throws -> ProxyServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(threads, 1))
        var built: [NIOLoopBound<LoopState>] = []
        do {
            try await generation.startDiscoveries()
            let states = try await generation.makeLoopStates(on: group)
            built = states
            generation.activate()
            var slots: [NIOLoopBound<LoopSlot>] = []
            for state in states {
                slots.append(try await state.eventLoop.submit { NIOLoopBound(LoopSlot(state.value), eventLoop: state.eventLoop) }.get())
            }
            let loopSlots = slots
            let listen = generation.table.config.listen
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let slot = loopSlots.first(where: { $0.eventLoop === channel.eventLoop })?.value else {
                            throw ChannelError.inappropriateOperationForState
                        }
                        try ClientPipeline.accept(channel, slot: slot, connections: connections)
                    }
                }
                .bind(host: listen.host, port: Int(listen.port))
                .get()
            logger.info("proxy listening on \(listen.host):\(channel.localAddress?.port ?? 0) with \(threads) event loops")
            return ProxyServer(group: group, channel: channel, slots: slots, connections: connections, generation: generation, logger: logger)
        } catch {
            await LoopState.retire(built)  // never served
            generation.stopDiscoveries(keptBy: nil)
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(
        group: MultiThreadedEventLoopGroup, channel: Channel, slots: [NIOLoopBound<LoopSlot>], connections: ConnectionLimiter,
        generation: TableGeneration, logger: Logger
    ) {
        self.group = group
        self.channel = channel
        self.slots = slots
        self.connections = connections
        self.generation = Mutex(generation)
        self.logger = logger
    }

    /// Serves `next` from now on (``TableGeneration`` says how). When its loop states cannot
    /// be built, the running generation stays and `next`'s series are dropped.
    func install(_ next: TableGeneration) async throws {
        let running = served
        let states: [NIOLoopBound<LoopState>]
        do {
            try await next.startDiscoveries()
            states = try await next.makeLoopStates(on: group)
        } catch {
            next.abandon(keeping: running)
            throw error
        }
        do {
            try await next.serve(states, in: slots, replacing: running)
        } catch {
            // The loops are shutting down: nothing more will be served.
            next.stopDiscoveries(keptBy: running)
            throw error
        }
        generation.withLock { $0 = next }
        running.stopDiscoveries(keptBy: next)
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
        // Before the loops go: a discovery's change must not reach a loop that shut down, and
        // each loop's state lets go of its backends.
        served.stopDiscoveries(keptBy: nil)
        for slot in slots {
            try? await slot.eventLoop.submit { slot.value.state.retire() }.get()
        }
        try? await group.shutdownGracefully()
    }
}
