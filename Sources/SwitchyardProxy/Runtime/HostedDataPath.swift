import Logging
import NIOCore

/// The data path on an event loop and channels the caller brings (a benchmark's transport of
/// its own under NIO's `ChannelPipeline`): one loop's state for a config's table, client
/// connections set up exactly as the listener sets them up, and upstream HTTP/1.1 connections
/// that the caller opens and that end in the real ``UpstreamHandler`` behind the real codec.
/// HTTP/2 upstreams are not offered. Everything runs on `eventLoop`, which must be the
/// caller's thread's loop when this is made.
@_spi(Benchmarks)
public final class HostedDataPath {
    /// Opens a connection to an endpoint's address on the loop and runs `initialize` on its
    /// channel at once (it adds the upstream's handlers); the future has the channel once it
    /// is connected.
    public typealias Connect = @Sendable (
        _ address: SocketAddress, _ eventLoop: EventLoop, _ initialize: @escaping (Channel) throws -> Void
    ) -> EventLoopFuture<Channel>

    private let parts: DataPathParts

    /// Loads `yaml` with plugins from `pluginDirectory` and makes one loop's state on
    /// `eventLoop`; endpoints open connections through `connect`.
    public init(yaml: String, pluginDirectory: String, eventLoop: EventLoop, logger: Logger, connect: @escaping Connect) throws {
        let connector = UpstreamConnector(
            connectHTTP1: { address, eventLoop in
                connect(address, eventLoop) { channel in try UpstreamConnector.configureHTTP1(channel.pipeline.syncOperations) }
            },
            connectHTTP2: { _, eventLoop in eventLoop.makeFailedFuture(ChannelError.operationUnsupported) })
        parts = try DataPathParts(
            yaml: yaml, pluginDirectory: pluginDirectory, eventLoop: eventLoop, connector: connector, clock: { .now() }, logger: logger)
    }

    deinit {
        parts.slot.state.retire()
    }

    /// Sets up an accepted client connection as the listener does.
    public func accept(_ channel: Channel) throws {
        try ClientPipeline.accept(channel, slot: parts.slot, connections: parts.connections)
    }
}
