import NIOCore
import NIOHTTP1

/// Every client connection's pipeline, in the order it is built: an accepted connection is
/// admitted (``ConnectionLimiter``) and tracked by its loop's slot, a ``ProtocolDetector`` reads
/// until it can tell HTTP/2 with prior knowledge from HTTP/1.x, then builds the matching
/// pipeline here and steps aside. HTTP/1.x ends in a ``ProxyServerHandler``, HTTP/2 in an
/// ``HTTP2ServerConnection`` that serves every stream.
enum ClientPipeline {
    /// Sets up an accepted connection on `slot`'s loop: closes it at once when `connections`
    /// is at its limit; otherwise counts it until it closes and starts protocol detection.
    static func accept(_ channel: Channel, slot: LoopSlot, connections: ConnectionLimiter) throws {
        guard connections.admit() else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            connections.release()
            slot.untrack(channel)
        }
        try channel.pipeline.syncOperations.addHandler(ProtocolDetector(slot: slot))
        slot.track(channel)
    }

    /// HTTP/1.x: the ``ClientResponseEncoder``, the ``ClientRequestDecoder``, and the proxy's
    /// handler (which answers 400 to what the decoder cannot parse, and keeps the client-side
    /// timeouts).
    /// Pipelining is ordered by the handler itself: NIO's assistant stops reading during every
    /// response, which costs two `epoll_ctl` calls per request. The three HTTP/1.x handlers
    /// hand parts to each other straight, not through the pipeline: nothing sits between them,
    /// and each hop would box the part and cast it back.
    static func configureHTTP1(_ pipeline: ChannelPipeline.SynchronousOperations, slot: LoopSlot) throws {
        let encoder = ClientResponseEncoder(scratch: slot.headScratch)
        let server = ProxyServerHandler(slot: slot, responseEncoder: encoder)
        try pipeline.addHandler(encoder)
        try pipeline.addHandler(ClientRequestDecoder(server: server))
        try pipeline.addHandler(server)
    }

    /// HTTP/2: the flushes of a pass joined (``FlushCoalescer``, which the connection flushes at
    /// once when a response leaves no stream open), and the ``HTTP2ServerConnection`` that
    /// speaks HTTP/2 itself, serves every stream, and closes the connection gracefully when it
    /// idles for `timeouts.keepAlive` or a drain begins (the double GOAWAY of RFC 9113 §6.8).
    static func configureHTTP2(_ pipeline: ChannelPipeline.SynchronousOperations, slot: LoopSlot) throws {
        let flushes = FlushCoalescer()
        try pipeline.addHandler(flushes)
        try pipeline.addHandler(HTTP2ServerConnection(slot: slot, flushes: flushes))
    }
}
