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

    /// Keeps what it is given until the coalescer asks, as an HTTP/2 connection keeps its frames.
    final class HeldFrames: FlushSource {
        let channel: Channel
        var held = ""
        var asked = 0
        init(channel: Channel) { self.channel = channel }
        func writeBeforeFlush() {
            asked += 1
            guard !held.isEmpty else { return }
            channel.write(ByteBuffer(string: held), promise: nil)
            held = ""
        }
    }

    static func channel() throws -> (EmbeddedChannel, FlushCounter) {
        let (channel, counter, _) = try channelWithCoalescer()
        return (channel, counter)
    }

    static func channelWithCoalescer() throws -> (EmbeddedChannel, FlushCounter, FlushCoalescer) {
        let counter = FlushCounter()
        let coalescer = FlushCoalescer()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(coalescer)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, counter, coalescer)
    }

    /// Everything written reaching the socket side, in order.
    static func sent(_ channel: EmbeddedChannel) throws -> [String] {
        var sent: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { sent.append(String(buffer: buffer)) }
        return sent
    }

    @Test("a source's frames of a whole pass go out as one write, just before the pass's one flush")
    func sourceWritesBeforeFlush() throws {
        let (channel, counter, coalescer) = try Self.channelWithCoalescer()
        defer { _ = try? channel.finish() }  // the coalescer lets go of its source as it leaves
        let source = HeldFrames(channel: channel)
        coalescer.source = source
        source.held += "headers 1;"
        channel.flush()
        source.held += "headers 3;"
        channel.write(ByteBuffer(string: "large data 1;"), promise: nil)
        source.held += "data 3;"
        channel.flush()
        #expect(source.asked == 0)
        #expect(try Self.sent(channel).isEmpty)
        channel.embeddedEventLoop.run()
        #expect(source.asked == 1)
        #expect(counter.flushes == 1)
        #expect(try Self.sent(channel) == ["large data 1;", "headers 1;headers 3;data 3;"])
        source.held = "at once;"
        coalescer.flushNow()
        #expect(try Self.sent(channel) == ["at once;"])
        #expect(counter.flushes == 2)
    }

    @Test("a close writes the source's frames of a flush it asked for, then closes")
    func closeWritesSourceFrames() throws {
        let (channel, counter, coalescer) = try Self.channelWithCoalescer()
        let source = HeldFrames(channel: channel)
        coalescer.source = source
        source.held = "GOAWAY;"
        channel.flush()
        channel.close(promise: nil)
        #expect(counter.flushes == 1)
        #expect(try Self.sent(channel) == ["GOAWAY;"])
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
