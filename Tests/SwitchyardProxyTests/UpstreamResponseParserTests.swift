import NIOCore
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// The HTTP/1.x response parser on its own: the request's method and bytes in, parts out,
/// however the bytes are split.
@Suite("Upstream response parser")
struct UpstreamResponseParserTests {
    /// Parses `input` as the answer to a `method` request, fed in pieces of `piece` bytes (0:
    /// all at once), then the upstream closes when `closes`. Returns the parts as text and the
    /// error that stopped it.
    static func parse(_ input: String, method: HTTPMethod? = .GET, piece: Int = 0, closes: Bool = false) -> ([String], MalformedHTTP1?) {
        var parser = UpstreamResponseParser()
        if let method { parser.requestSent(method) }
        var parts: [String] = []
        var body = ""
        func take(_ part: UpstreamResponsePart) {
            switch part {
            case .head(let head):
                parts.append("\(head.status.code) \(head.status.reasonPhrase) \(head.fields.headers.map { "\($0.name)=\($0.value)" })")
            case .body(let buffer): body += String(buffer: buffer)
            case .end(let trailers):
                parts.append("end \(body) \(trailers.map { $0.map { "\($0.name)=\($0.value)" } } ?? [])")
                body = ""
            }
        }
        let bytes = Array(input.utf8)
        let step = piece == 0 ? max(bytes.count, 1) : piece
        for start in stride(from: 0, to: bytes.count, by: step) {
            parser.feed(ByteBuffer(bytes: bytes[start..<min(start + step, bytes.count)]))
            do {
                while let part = try parser.next() { take(part) }
            } catch {
                return (parts, error)
            }
        }
        if closes, let end = parser.inputEnded() { take(end) }
        if parser.isSpent { parts.append("spent") }
        return (parts, nil)
    }

    @Test(
        "responses parse the same whole, byte by byte or in pieces of 5; bodies framed by length, chunks, the close, or the request; hop-by-hop fields dropped",
        arguments: [
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", HTTPMethod.GET, false, ["200 OK [\"Content-Length=3\"]", "end abc []"]),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\nX-Kept: 2\r\n\r\n3;x=y\r\nabc\r\n0\r\nx-sum: 3\r\n\r\n", .GET, false,
             ["200 OK [\"X-Kept=2\"]", "end abc [\"x-sum=3\"]"]),
            ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", .HEAD, false, ["200 OK [\"Content-Length=5\"]", "end  []"]),
            ("HTTP/1.1 204 No Content\r\n\r\n", .GET, false, ["204 No Content []", "end  []"]),
            ("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", .GET, false, ["304 Not Modified [\"Content-Length=9\"]", "end  []"]),
            ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", .POST, false,
             ["100 Continue []", "103 Early Hints [\"Link=</a>\"]", "200 OK [\"Content-Length=0\"]", "end  []"]),
            ("HTTP/1.0 200 OK\r\n\r\nuntil the close", .GET, true, ["200 OK []", "end until the close []", "spent"]),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", .GET, false, ["200 OK []", "end ok []"]),
            ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", .GET, false, ["200 OK [\"Content-Length=2\"]", "end ok []", "spent"]),
            ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", .GET, false, ["200 OK [\"Content-Length=2\"]", "end ok []"]),
            ("HTTP/1.1 299 Custom Thing\r\nContent-Length: 0\r\n\r\n", .GET, false, ["299 Custom Thing [\"Content-Length=0\"]", "end  []"]),
            ("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", .GET, false, ["200 OK [\"Content-Length=0\"]", "end  []"]),
            ("\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", .GET, false, ["404 Not Found [\"Content-Length=0\"]", "end  []"]),
        ])
    func parses(input: String, method: HTTPMethod, closes: Bool, expected: [String]) {
        for piece in [0, 1, 5] {
            let (parts, error) = Self.parse(input, method: method, piece: piece, closes: closes)
            #expect(error == nil && parts == expected, "piece \(piece): \(parts) \(String(describing: error))")
        }
    }

    @Test(
        "bytes that are not a response, or a response framed two ways, stop the parser",
        arguments: [
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", MalformedHTTP1.lengthAndCoding),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", .contentLength),
            ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", .switchingProtocols),
            ("HTTP/1.1 20 OK\r\n\r\n", .statusLine),
            ("HTTP/1.1 2000 OK\r\n\r\n", .statusLine),
            ("HTTP/1.1 099 Low\r\n\r\n", .statusLine),
            ("HTTP/1.1 200 O\u{1}K\r\n\r\n", .statusLine),
            ("HTTP/2.0 200 OK\r\n\r\n", .version),
            ("ICY 200 OK\r\n\r\n", .statusLine),
            ("HTTP/1.1 200 OK\r\nX-Split: a\r\nb: c\n\r\n", .bareLineFeed),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", .chunk),
            // A coding the proxy cannot take off would reach the client unannounced.
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzipped", .transferCoding),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", .transferCoding),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzipped", .transferCoding),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .transferCoding),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", .transferCoding),
        ])
    func refused(input: String, reason: MalformedHTTP1) {
        #expect(Self.parse(input).1 == reason)
        #expect(Self.parse(input, piece: 1).1 == reason)
    }

    @Test(
        "a connection is spent after a response followed by more bytes, a 2xx to CONNECT, or HTTP/1.0 chunking",
        arguments: [
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 302 Found\r\nLocation: //evil\r\nX: ", HTTPMethod.GET,
             ["200 OK [\"Content-Length=2\"]", "end ok []", "spent"]),
            ("HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\nHTTP/1.1 302 Found\r\n", .HEAD, ["200 OK [\"Content-Length=40\"]", "end  []", "spent"]),
            ("HTTP/1.1 200 Connection Established\r\n\r\n", .CONNECT, ["200 OK []", "end  []", "spent"]),
            ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", .GET,
             ["200 OK []", "end ok []", "spent"]),
        ])
    func outOfStep(input: String, method: HTTPMethod, expected: [String]) {
        let (parts, error) = Self.parse(input, method: method)
        #expect(error == nil && parts == expected, "\(parts) \(String(describing: error))")
    }

    @Test("bytes while no request waits for a response are refused, however they start")
    func unsolicited() {
        #expect(Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", method: nil).1 == .unsolicited)
        #expect(Self.parse("\r\n", method: nil).1 == .unsolicited)
        #expect(Self.parse("HTTP/1.1 408 Request Timeout\r\n", method: nil, piece: 3).1 == .unsolicited)
    }

    @Test("mutated responses parse the same whole, byte by byte and in pieces of 7: the split never changes the parts or the error")
    func splitInvariantUnderMutation() {
        let corpus = [
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nx-sum: 3\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.0 200 OK\r\n\r\nuntil the close",
        ]
        for text in ParserMutations(of: corpus, seed: 0x5157_1743_0000_0002, count: 3000) {
            // Bytes past a response are found with it (the connection is spent) or after it
            // (refused as unsolicited), as they happen to arrive: either way it is not reused.
            func outcome(_ piece: Int) -> [String] {
                let (parts, error) = Self.parse(text, piece: piece, closes: true)
                if error == .unsolicited { return parts + ["spent"] }
                return parts + (error.map { ["\($0)"] } ?? [])
            }
            let whole = outcome(0)
            #expect(outcome(1) == whole, "\(text.debugDescription)")
            #expect(outcome(7) == whole, "\(text.debugDescription)")
        }
    }

    @Test("a response cut short by the close has no end; one that runs until the close ends there")
    func closes() {
        #expect(Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", closes: true).0 == ["200 OK [\"Content-Length=5\"]"])
        #expect(Self.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab", closes: true).0 == ["200 OK []"])
        #expect(Self.parse("HTTP/1.1 200 OK\r\n\r\nab", closes: true).0 == ["200 OK []", "end ab []", "spent"])
    }
}
