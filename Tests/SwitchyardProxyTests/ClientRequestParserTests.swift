import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// The HTTP/1.x request parser on its own: bytes in, parts out, however the bytes are split.
@Suite("Client request parser")
struct ClientRequestParserTests {
    /// What a parse produced, comparable: heads as text, body bytes joined per request, ends
    /// with their trailers; and the error that stopped it.
    struct Parsed: Equatable, CustomStringConvertible {
        var parts: [String] = []
        var error: MalformedHTTP1?
        var description: String { "\(parts) \(error.map { "\($0)" } ?? "")" }
    }

    /// Feeds `input` in pieces of `piece` bytes (0: all at once) and collects the parts.
    static func parse(_ input: String, piece: Int = 0) -> Parsed {
        var parser = ClientRequestParser()
        var parsed = Parsed()
        var body = ""
        let bytes = Array(input.utf8)
        let step = piece == 0 ? max(bytes.count, 1) : piece
        for start in stride(from: 0, to: bytes.count, by: step) {
            parser.feed(ByteBuffer(bytes: bytes[start..<min(start + step, bytes.count)]))
            do {
                while let part = try parser.next() {
                    switch part {
                    case .head(let head):
                        let fields = head.fields.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                        parsed.parts.append("\(head.method.rawValue) \(head.uri) \(head.version) [\(fields)]")
                    case .body(let buffer):
                        body += String(buffer: buffer)
                    case .end(let trailers):
                        if !body.isEmpty { parsed.parts.append("body \(body)") }
                        body = ""
                        parsed.parts.append("end \(trailers.map { $0.map { "\($0.name)=\($0.value)" } } ?? [])")
                    }
                }
            } catch {
                parsed.error = error
                return parsed
            }
        }
        if !body.isEmpty { parsed.parts.append("body \(body) (unended)") }
        return parsed
    }

    static let wellFormed = [
        "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
        "\r\n\r\nGET /a?x=1 HTTP/1.1\r\nHost: a.test\r\nX-Empty:\r\nX-Spaces: \t v 1 \t\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: a.test\r\n\r\n",
        "POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Sum: 15\r\n\r\n",
        "PATCH /m HTTP/1.1\r\nHost: a.test\r\ncontent-length: 2\r\nContent-Length: 2\r\n\r\nok",
        "PROPFIND /dav HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ]

    @Test("well-formed requests parse the same whether they come whole, byte by byte or in pieces of 7", arguments: wellFormed)
    func splitsDoNotMatter(input: String) {
        let whole = Self.parse(input)
        #expect(whole.error == nil, "\(whole)")
        #expect(whole.parts.contains { $0.hasPrefix("end") }, "\(whole)")
        #expect(Self.parse(input, piece: 1) == whole)
        #expect(Self.parse(input, piece: 7) == whole)
    }

    @Test("mutated requests parse the same whole, byte by byte and in pieces of 7: the split never changes the parts or the error")
    func splitInvariantUnderMutation() {
        for text in ParserMutations(of: Self.wellFormed, seed: 0x5157_1743_0000_0003, count: 3000) {
            let whole = Self.parse(text)
            #expect(Self.parse(text, piece: 1) == whole, "\(text.debugDescription)")
            #expect(Self.parse(text, piece: 7) == whole, "\(text.debugDescription)")
        }
    }

    @Test("what the parts say: leading empty lines skipped, values trimmed, bodies framed, trailers at the end")
    func parts() {
        #expect(
            Self.parse(Self.wellFormed[1]).parts == [
                "GET /a?x=1 HTTP/1.1 [Host=a.test,X-Empty=,X-Spaces=v 1]", "end []", "GET /b HTTP/1.0 []", "end []",
            ])
        #expect(
            Self.parse(Self.wellFormed[2]).parts == [
                "POST /p HTTP/1.1 [Host=a.test,Content-Length=5]", "body hello", "end []", "GET /next HTTP/1.1 [Host=a.test]", "end []",
            ])
        #expect(
            Self.parse(Self.wellFormed[3]).parts == [
                "POST /c HTTP/1.1 [Host=a.test,Transfer-Encoding=gzip, chunked]", "body hello0123456789", "end [\"X-Sum=15\"]",
            ])
    }

    @Test(
        "bytes that are not a request stop the parser with the reason the 400 gives",
        arguments: [
            ("GET / HTTP/1.1\nHost: a\r\n\r\n", MalformedHTTP1.bareLineFeed),
            ("GET / HTTP/1.1\r\nHost: a\n\r\n", .bareLineFeed),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n", .lineFolding),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", .fieldLine),
            ("GET / HTTP/1.1\r\nNo colon\r\n\r\n", .fieldLine),
            ("GET / HTTP/1.1\r\n: empty name\r\n\r\n", .fieldLine),
            ("GET / HTTP/1.1\r\nX-Nul: a\u{0}b\r\n\r\n", .fieldLine),
            ("GET / HTTP/1.1\r\nX-Del: a\u{7F}\r\n\r\n", .fieldLine),
            ("G(T / HTTP/1.1\r\n\r\n", .requestLine),
            ("GET /\u{7F} HTTP/1.1\r\n\r\n", .requestLine),
            ("GET /é HTTP/1.1\r\n\r\n", .requestLine),
            ("GET  / HTTP/1.1\r\n\r\n", .requestLine),
            ("GET / HTTP/1.1 \r\n\r\n", .version),
            ("GET /\r\n\r\n", .requestLine),
            ("GET / HTTP/1.2\r\n\r\n", .version),
            ("GET / HTTP/2.0\r\n\r\n", .version),
            ("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", .contentLength),
            ("POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx", .contentLength),
            ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", .contentLength),
            ("POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", .contentLength),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .chunk),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", .chunk),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", .chunk),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n", .chunk),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", .bareLineFeed),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Bad : 1\r\n\r\n", .fieldLine),
        ])
    func refused(input: String, reason: MalformedHTTP1) {
        #expect(Self.parse(input).error == reason)
        #expect(Self.parse(input, piece: 1).error == reason)
    }

    @Test("a head or a chunk line over its limit is refused once it passes the limit, without waiting for its end")
    func limits() {
        let long = "GET / HTTP/1.1\r\nX-Long: " + String(repeating: "a", count: BuiltInLimits.http1HeaderBytes)
        #expect(Self.parse(long).error == .headTooLarge)
        #expect(Self.parse(long + "\r\n\r\n").error == .headTooLarge)
        let many = "GET / HTTP/1.1\r\n" + String(repeating: "a: b\r\n", count: BuiltInLimits.http1HeaderBytes / 6 + 1)
        #expect(Self.parse(many, piece: 1000).error == .headTooLarge)
        let extensions = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;" + String(repeating: "x", count: HTTP1MessageReader.chunkLineBytes)
        #expect(Self.parse(extensions).error == .chunk)
        let trailers = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + String(repeating: "t", count: BuiltInLimits.http1HeaderBytes)
        #expect(Self.parse(trailers).error == .headTooLarge)
    }

    @Test("a head's fields keep a small read buffer they lie in, never a large one: a request in flight holds at most a few KiB of what was read")
    func fieldsHoldLittle() throws {
        for capacity in [1024, 64 * 1024] {
            var bytes = ByteBufferAllocator().buffer(capacity: capacity)
            bytes.writeString("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n")
            var parser = ClientRequestParser()
            parser.feed(bytes)
            guard case .head(let head)? = try parser.next() else {
                Issue.record("no head")
                return
            }
            #expect(String(buffer: head.fields.bytes) == "Host: a\r\nX-A: 1\r\n")
            #expect(head.fields.bytes.storageCapacity <= FieldLines.Builder.largestSharedStorage, "read buffer of \(capacity)")
        }
    }

    @Test("pipelined requests whose heads are all still held, read in pieces that end inside the next: each read keeps only the unread bytes, and the storage stays small")
    func feedKeepsOnlyUnread() throws {
        let request = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
        let all = Array(String(repeating: request, count: 200).utf8)
        var parser = ClientRequestParser()
        var held: [RequestHead] = []  // as a pipelined backlog holds them
        for start in stride(from: 0, to: all.count, by: 37) {
            parser.feed(ByteBuffer(bytes: all[start..<min(start + 37, all.count)]))
            while let part = try parser.next() {
                if case .head(let head) = part { held.append(head) }
            }
        }
        #expect(held.count == 200)
        let largest = held.map(\.fields.bytes.storageCapacity).max() ?? 0
        #expect(largest < 1024, "\(largest) bytes of storage behind a head of \(request.utf8.count)")
    }

    @Test("a head whose body cannot be framed goes up alone, for validation to refuse, and nothing after it is parsed; nor is anything after a CONNECT or an upgrade request")
    func stops() {
        let both = Self.parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabcGET /smuggled HTTP/1.1\r\n\r\n")
        #expect(both.parts == ["POST / HTTP/1.1 [Host=a,Transfer-Encoding=chunked,Content-Length=3]"] && both.error == nil, "\(both)")
        let notLast = Self.parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n")
        #expect(notLast.parts.count == 1 && notLast.error == nil, "\(notLast)")
        let connect = Self.parse("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\nGET /tunnelled HTTP/1.1\r\n\r\n")
        #expect(connect.parts == ["CONNECT a.test:443 HTTP/1.1 [Host=a.test:443]", "end []"], "\(connect)")
        let upgrade = Self.parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(upgrade.parts == ["GET /ws HTTP/1.1 [Host=a,Connection=Upgrade,Upgrade=websocket]", "end []"], "\(upgrade)")
    }

    /// Records each part, and whether one came while it was still handling another; on the
    /// first head it delivers `reentering` to the pipeline from inside its own read, as NIO
    /// does when a flush fails and it reads the socket before closing.
    final class Reentering: ChannelInboundHandler {
        typealias InboundIn = RequestPart
        var reentering: ByteBuffer?
        var parts: [String] = []
        var nested = false
        private var depth = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            depth += 1
            defer { depth -= 1 }
            if depth > 1 { nested = true }
            switch unwrapInboundIn(data) {
            case .head(let head): parts.append(head.uri)
            case .body: parts.append("body")
            case .end: parts.append("end")
            }
            if let bytes = reentering {
                reentering = nil
                context.pipeline.syncOperations.fireChannelRead(NIOAny(bytes))
            }
        }
    }

    @Test("a read that comes while the decoder hands a part on is parsed after that part, in order, never inside it")
    func reentrantRead() throws {
        let recorder = Reentering()
        recorder.reentering = ByteBuffer(string: "GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
        let channel = EmbeddedChannel(handlers: [ClientRequestDecoder(), recorder])
        try channel.writeInbound(ByteBuffer(string: "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(recorder.parts == ["/first", "end", "/second", "end"])
        #expect(!recorder.nested)
        _ = try channel.finish()
    }
}
