#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The whole data path in one process on an `EmbeddedEventLoop` with virtual time, for tests and
/// for benchmarks that count what a proxied request costs (allocations, instructions) without
/// sockets: a config's table with the real plugins, one loop's state, client connections set up
/// exactly as the listener sets them up, and upstream connections that end in the real
/// ``UpstreamHandler``, behind the real HTTP/1.1 client codec (or, with `upstreamCodec: false`,
/// spoken to in HTTP parts). The caller plays both peers: it writes a request into a client
/// channel, reads what the proxy sent upstream, answers it, and reads what the client got.
/// Breakers and timers read the loop's clock, so `loop.advanceTime(by:)` moves them.
@_spi(Benchmarks)
public final class EmbeddedDataPath {
    /// The loop everything runs on.
    public let loop = EmbeddedEventLoop()
    let exporter: MetricsExporter
    let generation: TableGeneration
    let slot: LoopSlot
    let upstreams: Upstreams
    private let connections: ConnectionLimiter

    /// The upstream channels endpoints opened, in order; ports in `refusing` refuse to connect,
    /// and a connect takes `connectTime` of the loop's time (none by default).
    final class Upstreams: @unchecked Sendable {
        private let loop: EmbeddedEventLoop
        private let codec: Bool
        private(set) var opened: [(port: Int, channel: EmbeddedChannel)] = []
        var refusing: Set<Int> = []
        var connectTime: TimeAmount?

        init(loop: EmbeddedEventLoop, codec: Bool) {
            self.loop = loop
            self.codec = codec
        }

        func connect(_ address: SocketAddress) -> EventLoopFuture<Channel> {
            let port = address.port ?? 0
            guard !refusing.contains(port) else { return loop.makeFailedFuture(IOError(errnoCode: ECONNREFUSED, reason: "connect")) }
            let channel = EmbeddedChannel(loop: loop)
            do {
                if codec {
                    try UpstreamConnector.configureHTTP1(channel.pipeline.syncOperations)
                } else {
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            } catch {
                return loop.makeFailedFuture(error)
            }
            _ = channel.connect(to: address)
            opened.append((port, channel))
            guard let connectTime else { return loop.makeSucceededFuture(channel) }
            return loop.scheduleTask(in: connectTime) { channel as Channel }.futureResult
        }

        /// The channel opened last to `port`.
        func last(port: Int) -> EmbeddedChannel? {
            opened.last(where: { $0.port == port })?.channel
        }
    }

    /// Loads `yaml` with plugins from `pluginDirectory` and makes one loop's state for it.
    public convenience init(yaml: String, pluginDirectory: String) throws {
        try self.init(yaml: yaml, pluginDirectory: pluginDirectory, upstreamCodec: true)
    }

    init(yaml: String, pluginDirectory: String, upstreamCodec: Bool) throws {
        let upstreams = Upstreams(loop: loop, codec: upstreamCodec)
        self.upstreams = upstreams
        let loop = self.loop
        let connector = UpstreamConnector(
            connectHTTP1: { address, _ in upstreams.connect(address) },
            connectHTTP2: { _, _ in loop.makeFailedFuture(ChannelError.operationUnsupported) })
        let parts = try DataPathParts(
            yaml: yaml, pluginDirectory: pluginDirectory, eventLoop: loop, connector: connector, clock: { loop.now },
            logger: Logger(label: "switchyard.embedded"))
        (exporter, generation, slot, connections) = (parts.exporter, parts.generation, parts.slot, parts.connections)
    }

    deinit {
        slot.state.retire()  // its backends let go of their endpoints
        try? loop.syncShutdownGracefully()
    }

    /// A client connection, accepted and set up as the listener does.
    public func connectClient() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try ClientPipeline.accept(channel, slot: slot, connections: connections)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        return channel
    }

    /// The upstream connection an endpoint opened last, if any.
    public var lastUpstream: EmbeddedChannel? { upstreams.opened.last?.channel }

    /// Every upstream connection endpoints opened, in order.
    public var upstreamChannels: [EmbeddedChannel] { upstreams.opened.map(\.channel) }
}
