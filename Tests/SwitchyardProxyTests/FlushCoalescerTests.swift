import NIOCore
import NIOEmbedded
import Testing

@testable import SwitchyardProxy

/// ``FlushCoalescer``: the flushes of one event-loop pass become one, and a close sends what
/// was flushed before it.
@Suite("Flush coalescer")
struct FlushCoalescerTests {
    /// Counts the flushes that reach the socket side.
    final class FlushCounter: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        var flushes = 0
        func flush(context: ChannelHandlerContext) {
            flushes += 1
            context.flush()
        }
    }

    static func channel() throws -> (EmbeddedChannel, FlushCounter) {
        let counter = FlushCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(FlushCoalescer())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, counter)
    }

    @Test("three streams' flushes in one pass reach the socket as one, after the pass")
    func coalesces() throws {
        let (channel, counter) = try Self.channel()
        for stream in 1...3 { channel.writeAndFlush(ByteBuffer(string: "frame \(stream);"), promise: nil) }
        #expect(counter.flushes == 0)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 1)
        var sent = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { sent += String(buffer: buffer) }
        #expect(sent == "frame 1;frame 2;frame 3;")
        channel.writeAndFlush(ByteBuffer(string: "next"), promise: nil)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 2)
    }

    @Test("a close sends what was flushed before it, once")
    func closeFlushesFirst() throws {
        let (channel, counter) = try Self.channel()
        channel.writeAndFlush(ByteBuffer(string: "last response"), promise: nil)
        channel.close(promise: nil)
        #expect(counter.flushes == 1)
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "last response")
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 1)
    }
}
