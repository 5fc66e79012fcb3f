import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// How endpoints open upstream connections, with their pipelines: over TCP (``tcp``), or in
/// tests over channels the test makes (so the data path runs in-process on an embedded loop).
struct UpstreamConnector: Sendable {
    /// Opens an HTTP/1.1 connection whose pipeline ends in an ``UpstreamHandler``.
    let connectHTTP1: @Sendable (SocketAddress, EventLoop) -> EventLoopFuture<Channel>
    /// Opens an HTTP/2 connection whose pipeline ends in an ``HTTP2UpstreamConnection``.
    let connectHTTP2: @Sendable (SocketAddress, EventLoop) -> EventLoopFuture<Channel>

    /// TCP with `TCP_NODELAY`, each connect bounded by ``BuiltInLimits/connectTimeout``.
    static let tcp = UpstreamConnector(
        connectHTTP1: { address, eventLoop in
            bootstrap(eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try configureHTTP1(channel.pipeline.syncOperations) }
                }
                .connect(to: address)
        },
        connectHTTP2: { address, eventLoop in
            bootstrap(eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try configureHTTP2(channel.pipeline.syncOperations, eventLoop: channel.eventLoop) }
                }
                .connect(to: address)
        })

    /// An HTTP/2 upstream's pipeline: the flushes of a pass joined (``FlushCoalescer``), and
    /// the ``HTTP2UpstreamConnection`` that speaks HTTP/2 itself and carries every request's
    /// stream.
    static func configureHTTP2(_ pipeline: ChannelPipeline.SynchronousOperations, eventLoop: EventLoop) throws {
        let flushes = FlushCoalescer()
        try pipeline.addHandler(flushes)
        try pipeline.addHandler(HTTP2UpstreamConnection(eventLoop: eventLoop, flushes: flushes))
    }

    /// An HTTP/1.1 upstream's pipeline: the request encoder (which checks every part it
    /// writes, and tells the decoder each request's method: a HEAD's response has no body), the
    /// ``UpstreamResponseDecoder``, and the ``UpstreamHandler``. They hand parts to each other
    /// straight, not through the pipeline: nothing sits between them, and each hop would box
    /// the part and cast it back.
    static func configureHTTP1(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        let decoder = UpstreamResponseDecoder()
        let encoder = UpstreamRequestEncoder(responses: decoder)
        let handler = UpstreamHandler(encoder: encoder)
        try pipeline.addHandler(encoder)
        try pipeline.addHandler(decoder)
        try pipeline.addHandler(handler)
        // Closes the loop of references only once the pipeline holds all three: its removal
        // (handlerRemoved) breaks it.
        decoder.connect(to: handler)
    }

    private static func bootstrap(_ eventLoop: EventLoop) -> ClientBootstrap {
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(BuiltInLimits.connectTimeout)
    }
}
