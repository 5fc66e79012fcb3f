import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@_spi(Benchmarks) @testable import SwitchyardProxy

/// The HTTP/1.x bytes the proxy writes itself: the client's responses
/// (``ClientResponseEncoder``), the upstream's requests (``UpstreamRequestEncoder``), and the
/// 400 for what the request parser cannot parse. Bytes in, bytes out, through the real pipelines.
@Suite("HTTP/1.x wire")
struct HTTP1WireTests {
    static let web = DataPathTests.web
    static let host = "Host: \(web)\r\n"

    /// Every buffer the client got, in order.
    static func buffers(_ client: EmbeddedChannel) throws -> [String] {
        var buffers: [String] = []
        while let buffer = try client.readOutbound(as: ByteBuffer.self) { buffers.append(String(buffer: buffer)) }
        return buffers
    }

    /// A GET through `peers`, answered with `answer`: the buffers the client got.
    static func buffers(answering answer: String, through peers: DataPathTests.BytePeers) throws -> [String] {
        try peers.client.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\(Self.host)\r\n"))
        let upstream = try #require(peers.path.lastUpstream)
        while try upstream.readOutbound(as: ByteBuffer.self) != nil {}
        try upstream.writeInbound(ByteBuffer(string: answer))
        return try buffers(peers.client)
    }

    @Test("a small response reaches the client as one buffer: the head, the body and its end together")
    func coalesces() throws {
        let received = try Self.buffers(
            answering: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\nok", through: DataPathTests.BytePeers())
        #expect(received == ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok"])
    }

    @Test("an upstream's fields reach the client as they came: case, order, repeated names, empty values, tabs and UTF-8 inside values, gRPC status fields (an HTTP/1.1 head is never gRPC's trailers-only), 300 of them; spaces around values dropped, one after each colon")
    func fieldsAsTheyCame() throws {
        let many = (0..<300).map { "X-Field-\($0):v\($0)\r\n" }.joined()
        let answer =
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nETag:\t\"x\"  \r\nset-cookie: b=2; Path=/\r\nX-Empty:\r\n"
            + "X-Tab: a\tb\r\nX-Utf8: caf\u{E9}\r\nGrpc-Status: 0\r\ngrpc-message: fine\r\n\(many)\r\nok"
        let expected =
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nETag: \"x\"\r\nset-cookie: b=2; Path=/\r\nX-Empty: \r\n"
            + "X-Tab: a\tb\r\nX-Utf8: caf\u{E9}\r\nGrpc-Status: 0\r\ngrpc-message: fine\r\n" + (0..<300).map { "X-Field-\($0): v\($0)\r\n" }.joined()
            + "\r\nok"
        let received = try Self.buffers(answering: answer, through: DataPathTests.BytePeers())
        #expect(received.joined() == expected)
    }

    @Test("a body part that would take the staged bytes past 8 KiB is written as it is, after its head", arguments: [(8000, 1), (8200, 2), (70_000, 2)])
    func largeBody(size: Int, buffers: Int) throws {
        let body = String(repeating: "b", count: size)
        let received = try Self.buffers(answering: "HTTP/1.1 200 OK\r\ncontent-length: \(size)\r\n\r\n\(body)", through: DataPathTests.BytePeers())
        #expect(received.joined() == "HTTP/1.1 200 OK\r\ncontent-length: \(size)\r\n\r\n\(body)")
        #expect(received.count == buffers)
    }

    @Test("many small chunks in one read are staged up to 8 KiB, then written as they come")
    func stagingIsBounded() throws {
        let chunk = String(repeating: "c", count: 100)
        let chunks = String(repeating: "64\r\n\(chunk)\r\n", count: 500)
        let received = try Self.buffers(
            answering: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\(chunks)0\r\n\r\n", through: DataPathTests.BytePeers())
        #expect(received.joined() == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\(chunks)0\r\n\r\n")
        #expect(received.allSatisfy { $0.utf8.count <= ClientResponseEncoder.coalescedBytes })
    }

    @Test("garbage pipelined behind a whole request waits for that request's response, then gets its 400")
    func malformedBehindPipelined() throws {
        let proxy = try InProcessProxy.web()
        let client = try proxy.connect()
        try client.send("GET /first HTTP/1.1\r\n\(Self.host)\r\nNOT HTTP AT ALL\r\n\r\n")
        let upstream = try proxy.upstreams.last(port: 9001)
        #expect(try upstream.requestParts().head?.uri == "/first")
        #expect(try client.received().isEmpty)
        try upstream.respond(.ok, body: "first")
        let received = try client.received()
        let responses = received.components(separatedBy: "HTTP/1.1 ")
        #expect(responses.count == 3 && responses[1].hasPrefix("200 OK\r\n") && responses[1].hasSuffix("first"), "\(received)")
        #expect(responses.last?.hasPrefix("400 Bad Request\r\n") == true, "\(received)")
        #expect(!client.isOpen)
    }

    @Test("garbage inside a request's body closes the connection without a second answer")
    func malformedInsideBody() throws {
        let proxy = try InProcessProxy.web()
        let client = try proxy.connect()
        try client.send("POST /up HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\nzz\r\n")
        #expect(!client.isOpen)
        #expect(try !client.received().contains("400"))
    }

    @Test("framing as the client's version and method need it: chunked with trailers, HEAD without a body, 204 and 304 without framing headers, HTTP/1.0 until close")
    func framing() throws {
        let peers = try DataPathTests.BytePeers()
        func received(_ request: String, _ answer: String) throws -> String { try peers.roundTrip(request, answer: answer).received }
        let get = "GET / HTTP/1.1\r\n\(Self.host)\r\n"
        // The upstream's chunking is hop-by-hop: the proxy chunks the body again for the client.
        #expect(
            try received(get, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-sum: 3\r\n\r\n")
                == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-sum: 3\r\n\r\n")
        #expect(
            try received("HEAD / HTTP/1.1\r\n\(Self.host)\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
                == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        #expect(
            try received("HEAD / HTTP/1.1\r\n\(Self.host)\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        #expect(try received(get, "HTTP/1.1 204 No Content\r\n\r\n") == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(try received(get, "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\nETag: \"x\"\r\n\r\n") == "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
        let custom = try received(get, "HTTP/1.1 299 Custom Thing\r\ncontent-length: 0\r\n\r\n")
        // A code the proxy does not know keeps its reason phrase.
        #expect(custom == "HTTP/1.1 299 Custom Thing\r\ncontent-length: 0\r\n\r\n", "\(custom)")
        #expect(peers.client.isActive)
        // HTTP/1.0 has no chunking: the body runs until the proxy closes the connection.
        #expect(
            try received("GET / HTTP/1.0\r\n\(Self.host)\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
                == "HTTP/1.0 200 OK\r\nconnection: close\r\n\r\nabc")
        #expect(!peers.client.isActive)
    }

    @Test("a proxy's own answer to HEAD carries its length and no body")
    func headAnswer() throws {
        let path = try DataPathTests.BytePeers().path
        let client = try path.connectClient()
        try client.writeInbound(ByteBuffer(string: "HEAD / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n"))
        let received = try Self.buffers(client).joined()
        #expect(received.hasPrefix("HTTP/1.1 404 Not Found\r\n") && received.hasSuffix("\r\n\r\n"), "\(received)")
        #expect(received.lowercased().contains("\r\ncontent-length: "))
    }

    @Test("what the request parser cannot parse gets a 400 that says so, then the connection closes", arguments: [
        "GET / HTTP/1.1\r\nHost: web.test\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: web.test\r\nX-Bad\u{0}: 1\r\n\r\n",
        "GET /\u{7F} HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 1x\r\n\r\n",
    ])
    func malformed(request: String) throws {
        let path = try DataPathTests.BytePeers().path
        let client = try path.connectClient()
        _ = try? client.writeInbound(ByteBuffer(string: request))
        let received = try Self.buffers(client).joined()
        #expect(received.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(received)")
        #expect(received.contains("\r\nconnection: close\r\n") && received.contains("switchyard-proxy-error: malformed request"), "\(received)")
        #expect(!client.isActive)
    }

    @Test(
        "an upstream response framed two ways, with a coding the proxy cannot take off, or not a response at all, is a 502 that says why; the next request gets a new connection",
        arguments: [
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "both Content-Length and Transfer-Encoding"),
            ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "101 Switching Protocols nobody asked for"),
            ("SSH-2.0-OpenSSH_9.2\r\n\r\n", "invalid status line"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzipped", "unsupported Transfer-Encoding (only chunked is)"),
        ])
    func malformedResponse(answer: String, reason: String) throws {
        let peers = try DataPathTests.BytePeers()
        let received = try peers.roundTrip("GET / HTTP/1.1\r\n\(Self.host)\r\n", answer: answer).received
        #expect(received.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n") && received.contains("upstream error: \(reason)"), "\(received)")
        let next = try peers.roundTrip("GET / HTTP/1.1\r\n\(Self.host)\r\n", answer: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").received
        #expect(next.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(next)")
        #expect(peers.path.upstreams.opened.count == 2)
    }

    @Test("bytes an upstream sends past a response never reach the next exchange: that connection is closed, not pooled")
    func leftoverBytesAreNotTheNextResponse() throws {
        let peers = try DataPathTests.BytePeers()
        let poisoned = try peers.roundTrip(
            "HEAD / HTTP/1.1\r\n\(Self.host)\r\n", answer: "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\nHTTP/1.1 302 Found\r\nLocation: //evil\r\nX: "
        ).received
        #expect(poisoned == "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n", "\(poisoned)")
        let next = try peers.roundTrip("GET / HTTP/1.1\r\n\(Self.host)\r\n", answer: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").received
        #expect(next == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", "\(next)")
        #expect(peers.path.upstreams.opened.count == 2)
    }

    @Test("a whole response sent past the one asked for never answers a pipelined request that takes the connection as the first ends")
    func leftoverResponseIsNotThePipelinedOne() throws {
        let peers = try DataPathTests.BytePeers()
        let get = "GET /first HTTP/1.1\r\n\(Self.host)\r\n"
        try peers.client.writeInbound(ByteBuffer(string: get + get.replacingOccurrences(of: "/first", with: "/second")))
        peers.client.read()
        let first = try #require(peers.path.lastUpstream)
        while try first.readOutbound(as: ByteBuffer.self) != nil {}
        try first.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n1HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged"))
        let second = try #require(peers.path.lastUpstream)
        #expect(second !== first && !first.isActive, "the second request went out on the connection that sent too much")
        try second.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n2"))
        var received = ""
        while let buffer = try peers.client.readOutbound(as: ByteBuffer.self) { received += String(buffer: buffer) }
        #expect(received == "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n1HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n2", "\(received)")
    }

    @Test("trailers lose what may not travel there (framing, routing, authentication, hop-by-hop), both ways; the rest goes on")
    func trailersAreFiltered() throws {
        let peers = try DataPathTests.BytePeers()
        let request = "POST / HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
            + "x-sum: 2\r\nHost: evil.test\r\nContent-Length: 0\r\nAuthorization: Bearer x\r\nConnection: close\r\n\r\n"
        let answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\ngrpc-status: 0\r\nSet-Cookie: a=b\r\nContent-Length: 9\r\n\r\n"
        let (sent, received) = try peers.roundTrip(request, answer: answer)
        #expect(sent.hasSuffix("0\r\nx-sum: 2\r\n\r\n"), "\(sent)")
        #expect(received.hasSuffix("0\r\ngrpc-status: 0\r\n\r\n"), "\(received)")
        let onlyDropped = try peers.roundTrip(request.replacingOccurrences(of: "x-sum: 2\r\n", with: ""), answer: answer).sent
        #expect(onlyDropped.hasSuffix("ok\r\n0\r\n\r\n"), "\(onlyDropped)")
    }

    /// A channel with only the encoder, as the client's pipeline has it.
    static func encoder() throws -> (EmbeddedChannel, ClientResponseEncoder) {
        let encoder = ClientResponseEncoder(scratch: HeadScratch())
        let channel = EmbeddedChannel(handler: encoder)
        return (channel, encoder)
    }

    @Test("a response field that would split the message never becomes a line; a reason phrase or trailers that would are never written: the write fails, the pipeline hears it, the rest of the response is dropped")
    func refusesSplittingHead() throws {
        for (name, value) in [("x-a", "1\r\nx-injected: 1"), ("x-a", "1\nx"), ("x a", "1"), ("", "1"), ("x-a", "nul\u{0}"), ("x:a", "1")] {
            var fields = FieldLines()
            #expect(throws: UnsendableHead.self, "\(name): \(value)") { try fields.append(name: name, value: value) }
            #expect(fields.isEmpty)
        }
        let (channel, _) = try Self.encoder()
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.write(ClientResponsePart.head(.init(version: .http1_1, status: .custom(code: 200, reasonPhrase: "OK\r\nx: 1"))), promise: written)
        channel.write(ClientResponsePart.body(.byteBuffer(ByteBuffer(string: "secret"))), promise: nil)
        channel.writeAndFlush(ClientResponsePart.end(nil), promise: nil)
        #expect(throws: UnsendableHead.self) { try written.futureResult.wait() }
        #expect(throws: UnsendableHead.self) { try channel.throwIfErrorCaught() }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        var trailers = HTTPHeaders()
        trailers.add(name: "grpc-status", value: "0\r\n")
        let (chunked, _) = try Self.encoder()
        chunked.write(ClientResponsePart.head(.init(version: .http1_1, status: .ok)), promise: nil)
        chunked.write(ClientResponsePart.body(.byteBuffer(ByteBuffer(string: "a"))), promise: nil)
        chunked.writeAndFlush(ClientResponsePart.end(trailers), promise: nil)
        #expect(throws: UnsendableHead.self) { try chunked.throwIfErrorCaught() }
        #expect(try chunked.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test("an interim head carries no framing headers")
    func interimHead() throws {
        let (channel, _) = try Self.encoder()
        channel.writeAndFlush(ClientResponsePart.head(try ResponseHead(.init(version: .http1_1, status: .continue, headers: ["content-length": "5", "x-a": "1"]))), promise: nil)
        #expect(try Self.buffers(channel) == ["HTTP/1.1 100 Continue\r\nx-a: 1\r\n\r\n"])
    }

    @Test("an informational head is a buffer of its own; a staged head waits only until the flush; a part with a promise is not held back")
    func staging() throws {
        let (channel, _) = try Self.encoder()
        let head = try ResponseHead(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "3"]))
        channel.write(ClientResponsePart.head(.init(version: .http1_1, status: .continue)), promise: nil)
        channel.write(ClientResponsePart.head(head), promise: nil)
        channel.flush()
        #expect(try Self.buffers(channel) == ["HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n"])
        let sent = channel.eventLoop.makePromise(of: Void.self)
        channel.write(ClientResponsePart.body(.byteBuffer(ByteBuffer(string: "abc"))), promise: sent)
        channel.writeAndFlush(ClientResponsePart.end(nil), promise: nil)
        try sent.futureResult.wait()
        #expect(try Self.buffers(channel) == ["abc"])
        // A head with a promise goes out with it, not after the next part.
        let headSent = channel.eventLoop.makePromise(of: Void.self)
        channel.write(ClientResponsePart.head(head), promise: headSent)
        channel.write(ClientResponsePart.body(.byteBuffer(ByteBuffer(string: "xyz"))), promise: nil)
        channel.writeAndFlush(ClientResponsePart.end(nil), promise: nil)
        try headSent.futureResult.wait()
        #expect(try Self.buffers(channel) == ["HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n", "xyz"])
    }

    @Test("a request line that would split the message never reaches the upstream: the write fails and the connection closes")
    func refusesSplittingRequest() throws {
        // Fields are checked as they become lines (``FieldLinesTests``): only the line is left.
        for head in [
            try RequestHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/a b", headers: ["host": "x"])),
            try RequestHead(HTTPRequestHead(version: .http1_1, method: .RAW(value: "GE T"), uri: "/", headers: ["host": "x"])),
            try RequestHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/\r\nx-injected: 1", headers: ["host": "x"])),
        ] {
            let channel = EmbeddedChannel()
            try UpstreamConnector.configureHTTP1(channel.pipeline.syncOperations)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9001)).wait()
            let written = channel.eventLoop.makePromise(of: Void.self)
            channel.writeAndFlush(RequestPart.head(head), promise: written)
            #expect(throws: UnsendableHead.self) { try written.futureResult.wait() }
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
            #expect(!channel.isActive, "\(head)")
        }
    }

    @Test("hop-by-hop headers go, in any case, with what Connection lists (its first 64 names); Host and Content-Length stay; te: trailers stays")
    func hopByHop() throws {
        var headers = try FieldLines(HTTPHeaders([
            ("Host", "a"), ("CONNECTION", " Keep-Alive ,X-Trace,, host , Content-Length"), ("keep-alive", "timeout=5"),
            ("X-TRACE", "1"), ("x-trace", "2"), ("Content-Length", "3"), ("TE", "trailers"), ("Transfer-Encoding", "chunked"),
            ("Proxy-Authorization", "x"), ("Upgrade", "h2c"), ("Trailer", "x-sum"), ("x-kept", "1"), ("Proxy-Connection", "close"),
            ("proxy-authenticate", "y"),
        ]))
        HopByHop.strip(&headers)
        #expect(headers.headers.map { "\($0.name): \($0.value)" } == ["Host: a", "Content-Length: 3", "x-kept: 1", "te: trailers"])
        var gzip = try FieldLines(HTTPHeaders([("te", "gzip"), ("x-a", "1")]))
        HopByHop.strip(&gzip)
        #expect(gzip.headers.map(\.name) == ["x-a"])
        let untouched = try FieldLines(HTTPHeaders([("x-connection", "1"), ("tee", "1"), ("x-a", "1")]))
        var none = untouched
        HopByHop.strip(&none)
        #expect(none == untouched)
        // Connection's names are noted once each and at most 64 (a hostile peer could list
        // thousands, each compared with every field): the fields of those past it stay.
        let names = (0..<100).map { "x-\($0)" }
        var many = try FieldLines(HTTPHeaders([("connection", (names + names).joined(separator: ","))] + names.map { ($0, "1") }))
        HopByHop.strip(&many)
        #expect(many.headers.map(\.name) == Array(names[64...]))
        // A name listed again takes no second place: the 65th distinct one still goes.
        var repeated = try FieldLines(
            HTTPHeaders([("connection", Array(repeating: "x-0", count: 64).joined(separator: ",") + ",x-1"), ("x-0", "1"), ("x-1", "1"), ("x-2", "1")]))
        HopByHop.strip(&repeated)
        #expect(repeated.headers.map(\.name) == ["x-2"])
    }

    @Test("keep-alive is read as NIO reads it, without its allocations")
    func keepsAlive() throws {
        let values: [[String]] = [
            [], ["close"], ["keep-alive"], ["Keep-Alive"], [" CLOSE "], ["keep-alive, close"], ["keep-alive", "keep-alive"],
            ["upgrade"], ["x, keep-alive"], ["keep-alive,keep-alive"], [",,"],
        ]
        for connection in values {
            for version in [HTTPVersion.http1_0, .http1_1] {
                let headers = HTTPHeaders([("host", "a")] + connection.map { ("Connection", $0) })
                let nio = HTTPRequestHead(version: version, method: .GET, uri: "/", headers: headers).isKeepAlive
                let request = try RequestHead(HTTPRequestHead(version: version, method: .GET, uri: "/", headers: headers))
                #expect(ConnectionPersistence(request: request).requestKeepsAlive == nio, "\(connection) \(version)")
            }
        }
    }

    @Test("connections of one loop share its head buffer: bytes a channel has not written yet are never overwritten by the next borrower")
    func sharedScratch() throws {
        let scratch = HeadScratch()
        let first = EmbeddedChannel(handler: ClientResponseEncoder(scratch: scratch))
        let second = EmbeddedChannel(handler: ClientResponseEncoder(scratch: scratch))
        func respond(_ channel: EmbeddedChannel, _ body: String, flush: Bool) {
            var head = ResponseHead(version: .http1_1, status: .ok)
            try? head.fields.append(name: "content-length", value: String(body.utf8.count))
            channel.write(ClientResponsePart.head(head), promise: nil)
            channel.write(ClientResponsePart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil)
            channel.write(ClientResponsePart.end(nil), promise: nil)
            if flush { channel.flush() }
        }
        // The first connection's response sits in its channel, unflushed, when the second
        // borrows the buffer.
        respond(first, "first", flush: false)
        respond(second, "second!", flush: true)
        first.flush()
        #expect(try Self.buffers(first) == ["HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst"])
        #expect(try Self.buffers(second) == ["HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nsecond!"])
        respond(first, "again", flush: true)
        #expect(try Self.buffers(first) == ["HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nagain"])
    }
}
