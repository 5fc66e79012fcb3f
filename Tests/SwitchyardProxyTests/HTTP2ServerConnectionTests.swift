import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing

@_spi(Benchmarks) @testable import SwitchyardProxy

/// The listener's own HTTP/2 connection in process (`HTTP2ServerConnection` on an embedded
/// loop with virtual time): its graceful shutdown's bound, its flood bounds, and the stream
/// errors it answers without ending the connection.
@Suite("HTTP/2 client connections")
struct HTTP2ServerConnectionTests {
    /// A client's side of one HTTP/2 connection to the in-process proxy.
    final class H2Client {
        let proxy: InProcessProxy
        let channel: EmbeddedChannel
        var encoder = HTTP2FieldEncoder()
        var reader = HTTP2FrameReader()

        init(_ proxy: InProcessProxy) throws {
            self.proxy = proxy
            channel = try proxy.path.connectClient()
            var bytes = ByteBuffer.http2ClientPreface
            bytes.writeHTTP2Settings([])
            try send(bytes)
        }

        func send(_ bytes: ByteBuffer) throws {
            try channel.writeInbound(bytes)
            channel.read()
        }

        func send(_ write: (inout ByteBuffer) throws -> Void) throws {
            var bytes = ByteBuffer()
            try write(&bytes)
            try send(bytes)
        }

        /// A GET for `path` on stream `id`, ended with its HEADERS unless `open`.
        func get(_ id: Int32, path: String = "/", extra: [(String, String)] = [], open: Bool = false) throws {
            let head = try RequestHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: HTTPHeaders(extra)))
            let block = HTTP2FieldBlock.request(head, authority: "web.test.svc.cluster.local")
            try send { $0.writeHTTP2Headers(block, endStream: !open, stream: HTTP2StreamID(id), encoder: &encoder, maxFrameBytes: 16_384) }
        }

        /// Whether the proxy's last frame was a GOAWAY naming `lastStream` with `code`, and the
        /// connection closed.
        func endedWith(_ code: HTTP2ErrorCode, lastStream: Int) throws -> Bool {
            try frames().last == "GOAWAY \(lastStream) \(code.networkCode)" && !channel.isActive
        }

        /// The frames the proxy wrote since the last call, described (its flushes wait for the
        /// end of the loop's pass, unless `flushedOnly`: then only what was flushed already).
        func frames(flushedOnly: Bool = false) throws -> [String] {
            if !flushedOnly { proxy.loop.run() }
            while let bytes = try channel.readOutbound(as: ByteBuffer.self) { reader.feed(bytes) }
            var frames: [String] = []
            while let frame = try reader.next() { frames.append(HTTP2FrameReaderTests.describe(frame)) }
            return frames
        }
    }

    static func proxy() throws -> InProcessProxy {
        try InProcessProxy.web(top: "timeouts: { keepAlive: 5s }\n")
    }

    @Test("a drain's GOAWAY and PING: a client that never acknowledges is closed keepAlive after them; one that does gets the last stream's GOAWAY and keeps its open stream")
    func gracefulShutdownBound() throws {
        for acknowledges in [false, true] {
            let proxy = try Self.proxy()
            let client = try H2Client(proxy)
            try client.get(1)  // its upstream never answers: the stream stays open
            _ = try client.frames()
            client.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            let shutdown = try client.frames()
            #expect(shutdown.contains("GOAWAY 2147483647 0"), "\(shutdown)")
            guard let ping = shutdown.first(where: { $0.hasPrefix("PING ") }), let data = UInt64(ping.split(separator: " ")[1]) else {
                Issue.record("no PING: \(shutdown)")
                continue
            }
            proxy.advance(by: .seconds(4))
            #expect(client.channel.isActive)
            if acknowledges {
                try client.send { $0.writeHTTP2FrameHeader(length: 8, type: 0x6, flags: 0x1); $0.writeInteger(data) }
                #expect(try client.frames() == ["GOAWAY 1 0"])
            }
            proxy.advance(by: .seconds(2))
            #expect(client.channel.isActive == acknowledges, acknowledges ? "acknowledged: it stays for its stream" : "never acknowledged: closed")
        }
    }

    @Test("a client that opens and resets streams is told to calm down past 200 resets in 30 s (rapid reset), and closed")
    func rapidReset() throws {
        let proxy = try Self.proxy()
        let client = try H2Client(proxy)
        for index in 0..<BuiltInLimits.http2ClientResets {
            let id = Int32(2 * index + 1)
            try client.get(id, open: true)
            try client.send { $0.writeHTTP2Reset(.cancel, stream: HTTP2StreamID(id)) }
        }
        #expect(client.channel.isActive, "at the bound")
        _ = try client.frames()
        try client.get(Int32(2 * BuiltInLimits.http2ClientResets + 1), open: true)
        try client.send { $0.writeHTTP2Reset(.cancel, stream: HTTP2StreamID(Int32(2 * BuiltInLimits.http2ClientResets + 1))) }
        #expect(try client.endedWith(.enhanceYourCalm, lastStream: 2 * BuiltInLimits.http2ClientResets + 1))
    }

    @Test("empty DATA frames in a row are a flood: ENHANCE_YOUR_CALM")
    func emptyDataFlood() throws {
        let proxy = try Self.proxy()
        let client = try H2Client(proxy)
        try client.get(1, open: true)
        try client.send { $0.writeHTTP2DataHeader(length: 0, endStream: false, stream: 1) }
        #expect(client.channel.isActive)
        try client.send { $0.writeHTTP2DataHeader(length: 0, endStream: false, stream: 1) }
        #expect(try client.endedWith(.enhanceYourCalm, lastStream: 1))
    }

    @Test("a request body that does not add up to its content-length is reset with PROTOCOL_ERROR before its extra bytes go anywhere; the connection serves on")
    func contentLengthMismatch() throws {
        let proxy = try Self.proxy()
        let client = try H2Client(proxy)
        try client.get(1, extra: [("content-length", "5")], open: true)
        try client.send {
            $0.writeHTTP2DataHeader(length: 10, endStream: true, stream: 1)
            $0.writeString("0123456789")
        }
        #expect(try client.frames().contains("RST_STREAM 1 1"))
        let parts = try proxy.upstreams.last(port: 9001).requestParts()
        let body = parts.reduce(0) { sum, part in if case .body(let bytes) = part { sum + bytes.readableBytes } else { sum } }
        #expect(body == 0, "\(parts)")
        #expect(client.channel.isActive)
        // A HEADERS that ends a request whose content-length promised a body is malformed too.
        try client.get(3, extra: [("content-length", "5")])
        #expect(try client.frames().contains("RST_STREAM 3 1"))
        #expect(client.channel.isActive)
    }

    @Test("a stream past SETTINGS_MAX_CONCURRENT_STREAMS is refused; frames still on their way on it are dropped, and the connection serves on")
    func concurrencyLimit() throws {
        let proxy = try Self.proxy()
        let client = try H2Client(proxy)
        for index in 0..<BuiltInLimits.http2ConcurrentStreams { try client.get(Int32(2 * index + 1)) }
        _ = try client.frames()
        let refused = Int32(2 * BuiltInLimits.http2ConcurrentStreams + 1)
        try client.get(refused, open: true)
        #expect(try client.frames() == ["RST_STREAM \(refused) 7"])
        try client.send {
            $0.writeHTTP2DataHeader(length: 4, endStream: true, stream: HTTP2StreamID(refused))
            $0.writeString("late")
        }
        #expect(client.channel.isActive)
        #expect(try client.frames().allSatisfy { !$0.hasPrefix("GOAWAY") })
    }

    @Test("a response that leaves another stream open waits for the pass's flush; one that leaves none is flushed at once, with what waited")
    func responseFlush() throws {
        let proxy = try Self.proxy()
        let client = try H2Client(proxy)
        _ = try client.frames()
        try client.get(1)
        try client.get(3)
        let upstreams = proxy.upstreams.opened.map(\.channel)
        #expect(upstreams.count == 2)
        guard upstreams.count == 2 else { return }
        try upstreams[0].respond(.ok, body: "one")
        #expect(try client.frames(flushedOnly: true).isEmpty, "stream 3 may answer in this pass too")
        try upstreams[1].respond(.ok, body: "three")
        let flushed = try client.frames(flushedOnly: true)
        #expect(flushed.filter { $0.hasPrefix("DATA") && $0.contains("end=true") }.count == 2, "\(flushed)")
    }

    @Test("a WINDOW_UPDATE or RST_STREAM on a stream that ended both ways is dropped (RFC 9113 §5.1: the client may not have seen the end yet); DATA on it ends the connection")
    func framesAfterTheEnd() throws {
        let proxy = try Self.proxy()
        let client = try H2Client(proxy)
        try client.get(1)
        try proxy.upstreams.last(port: 9001).respond(.ok, body: "hello")
        let answer = try client.frames()
        #expect(answer.contains { $0.hasPrefix("DATA 1 ") && $0.contains("end=true") }, "\(answer)")
        try client.send {
            $0.writeHTTP2WindowUpdate(100, stream: 1)
            $0.writeHTTP2Reset(.cancel, stream: 1)
        }
        #expect(client.channel.isActive)
        #expect(try client.frames().allSatisfy { !$0.hasPrefix("GOAWAY") })
        try client.send {
            $0.writeHTTP2DataHeader(length: 4, endStream: true, stream: 1)
            $0.writeString("late")
        }
        #expect(try client.endedWith(.streamClosed, lastStream: 1))
    }

    @Test("stream errors the client causes are bounded: past 200 in 30 s (here WINDOW_UPDATEs of 0), ENHANCE_YOUR_CALM")
    func streamErrorFlood() throws {
        let proxy = try Self.proxy()
        let client = try H2Client(proxy)
        for index in 0...BuiltInLimits.http2StreamErrors {
            let id = HTTP2StreamID(Int32(2 * index + 1))
            try client.get(Int32(id), open: true)
            try client.send { $0.writeHTTP2WindowUpdate(0, stream: id) }
        }
        #expect(try client.endedWith(.enhanceYourCalm, lastStream: 2 * BuiltInLimits.http2StreamErrors + 1))
    }
}
