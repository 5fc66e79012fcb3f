import Logging
import NIOCore
import NIOPosix
import SwitchyardCore

/// The running proxy: one listener for HTTP/1.1 and HTTP/2 (prior knowledge), and one
/// ``LoopState`` per event loop holding that loop's balancers, queues and pools.
public final class ProxyServer: Sendable {
    /// The table it routes with.
    public let table: RoutingTable
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    /// One event loop per core.
    public static var defaultThreadCount: Int { System.coreCount }

    /// The address it listens on (the real port when the config asked for port 0).
    public var localAddress: SocketAddress? { channel.localAddress }

    /// Starts listening on `table.config.listen` with `threads` event loops, counting into
    /// `metrics` (made from the same table).
    public static func start(table: RoutingTable, metrics: ProxyMetrics, threads: Int, logger: Logger) async throws -> ProxyServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(threads, 1))
        do {
            let shared = table.backends.enumerated().map { index, backend in
                BackendShared(backend, breakers: metrics.breakers[index], logger: logger)
            }
            var states: [(ObjectIdentifier, NIOLoopBound<LoopState>)] = []
            for (index, loop) in group.makeIterator().enumerated() {
                let seed = UInt64.random(in: .min ... .max)
                let state = try await loop.submit {
                    NIOLoopBound(
                        try LoopState(eventLoop: loop, loopIndex: index, table: table, metrics: metrics, shared: shared, seed: seed),
                        eventLoop: loop)
                }.get()
                states.append((ObjectIdentifier(loop), state))
            }
            let loopStates = states
            let listen = table.config.listen
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let id = ObjectIdentifier(channel.eventLoop)
                        let state = loopStates.first { $0.0 == id }!.1.value
                        try channel.pipeline.syncOperations.addHandler(ProtocolDetector(loop: state))
                    }
                }
                .bind(host: listen.host, port: Int(listen.port))
                .get()
            logger.info("proxy listening on \(listen.host):\(channel.localAddress?.port ?? 0) with \(threads) event loops")
            return ProxyServer(table: table, group: group, channel: channel)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(table: RoutingTable, group: MultiThreadedEventLoopGroup, channel: Channel) {
        self.table = table
        self.group = group
        self.channel = channel
    }

    /// Calls `callback` once the listener closes.
    public func whenClosed(_ callback: @escaping @Sendable () -> Void) {
        channel.closeFuture.whenComplete { _ in callback() }
    }

    /// Stops listening and shuts the event loops down.
    public func stop() async throws {
        try? await channel.close()
        try await group.shutdownGracefully()
    }
}
