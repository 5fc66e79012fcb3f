import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// HTTP/2 field blocks to and from the heads the rest of the proxy speaks (``HTTP2Fields``).
@Suite("HTTP/2 fields")
struct HTTP2FieldsTests {
    static func block(_ fields: [(String, String)]) -> HTTP2ReceivedFields {
        HTTP2ReceivedFields(fields)
    }

    /// `block` as it goes out: encoded, then decoded as a peer would, as "name: value" lines.
    static func sent(_ block: HTTP2FieldBlock) throws -> [String] {
        var bytes = ByteBuffer()
        block.append(to: &bytes)
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        return try decoder.decodeHeaders(from: &bytes).map { "\($0.name): \($0.value)" }
    }

    static func fields(_ headers: HTTPHeaders) -> [String] {
        headers.map { "\($0.name): \($0.value)" }
    }

    @Test("a request block: :authority becomes the first host field, a host the client sent stays beside it, pseudo-fields go")
    func requestHead() throws {
        let plain = try HTTP2Fields.requestHead(
            Self.block([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/x?y"), ("accept", "*/*")]), endStream: true)
        #expect(plain.method == .GET && plain.uri == "/x?y" && plain.version == .http2)
        #expect(Self.fields(plain.fields.headers) == ["host: a.test", "accept: */*"])
        let both = try HTTP2Fields.requestHead(
            Self.block([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/"), ("host", "b.test")]), endStream: true)
        #expect(Self.fields(both.fields.headers) == ["host: a.test", "host: b.test"], "validation sees both, and refuses them when they differ")
        let hostOnly = try HTTP2Fields.requestHead(Self.block([(":method", "GET"), (":scheme", "http"), (":path", "/"), ("host", "b.test")]), endStream: true)
        #expect(Self.fields(hostOnly.fields.headers) == ["host: b.test"])
    }

    @Test("cookie crumbs become one field where the first stood, joined with \"; \"")
    func cookies() throws {
        let head = try HTTP2Fields.requestHead(
            Self.block([
                (":method", "GET"), (":scheme", "http"), (":authority", "a"), (":path", "/"), ("cookie", "a=1"), ("accept", "*/*"),
                ("cookie", "b=2"), ("cookie", "c=3"),
            ]),
            endStream: true)
        #expect(Self.fields(head.fields.headers) == ["host: a", "cookie: a=1; b=2; c=3", "accept: */*"])
    }

    @Test("a request that may carry a body and ends with its HEADERS gets content-length: 0; one that goes on, or a GET, gets none")
    func requestLength() throws {
        func head(_ method: String, endStream: Bool, _ extra: [(String, String)] = []) throws -> [String] {
            let block = Self.block([(":method", method), (":scheme", "http"), (":authority", "a"), (":path", "/")] + extra)
            return Self.fields(try HTTP2Fields.requestHead(block, endStream: endStream).fields.headers)
        }
        #expect(try head("POST", endStream: true) == ["host: a", "content-length: 0"])
        #expect(try head("POST", endStream: false) == ["host: a"])
        #expect(try head("POST", endStream: true, [("content-length", "0")]) == ["host: a", "content-length: 0"])
        #expect(try head("GET", endStream: true) == ["host: a"])
        #expect(try head("DELETE", endStream: true) == ["host: a"])
    }

    @Test("a well-formed CONNECT (:method and :authority only) has its authority as target")
    func connect() throws {
        let head = try HTTP2Fields.requestHead(Self.block([(":method", "CONNECT"), (":authority", "a:443")]), endStream: false)
        #expect(head.method == .CONNECT && head.uri == "a:443" && Self.fields(head.fields.headers) == ["host: a:443"])
    }

    static let request: [(String, String)] = [(":method", "GET"), (":scheme", "http"), (":authority", "a"), (":path", "/")]

    /// A well-formed GET block with `extra` fields after it.
    static func get(_ extra: (String, String)...) -> [(String, String)] {
        request + extra
    }

    static let malformedRequests: [(String, [(String, String)])] = [
        ("uppercase name", get(("X-Up", "1"))),
        ("empty name", get(("", "1"))),
        ("name with a space", get(("x y", "1"))),
        ("CR in a value", get(("x", "a\rb"))),
        ("LF in a value", get(("x", "a\nb"))),
        ("NUL in a value", get(("x", "a\u{0}b"))),
        ("control character in a value", get(("x", "a\u{1}b"))),
        ("DEL in a value", get(("x", "a\u{7F}"))),
        ("space first in a value", get(("x", " a"))),
        ("tab last in a value", get(("x", "a\t"))),
        ("connection", get(("connection", "close"))),
        ("transfer-encoding", get(("transfer-encoding", "chunked"))),
        ("keep-alive", get(("keep-alive", "1"))),
        ("proxy-connection", get(("proxy-connection", "x"))),
        ("upgrade", get(("upgrade", "h2c"))),
        ("te other than trailers", get(("te", "gzip"))),
        ("pseudo after a field", [(":method", "GET"), (":scheme", "http"), ("x", "1"), (":path", "/")]),
        ("repeated pseudo", get((":path", "/again"))),
        ("unknown pseudo", [(":status", "200"), (":method", "GET"), (":scheme", "http"), (":path", "/")]),
        (":protocol", [(":protocol", "websocket"), (":method", "GET"), (":scheme", "http"), (":path", "/")]),
        ("no :method", [(":scheme", "http"), (":path", "/")]),
        ("no :path", [(":method", "GET"), (":scheme", "http")]),
        ("empty :path", [(":method", "GET"), (":scheme", "http"), (":path", "")]),
        ("no :scheme", [(":method", "GET"), (":path", "/")]),
        ("space in :path", [(":method", "GET"), (":scheme", "http"), (":path", "/a b")]),
        ("control in :authority", [(":method", "GET"), (":scheme", "http"), (":authority", "a\u{1}"), (":path", "/")]),
        ("method not a token", [(":method", "G(T"), (":scheme", "http"), (":path", "/")]),
        ("CONNECT with :path", [(":method", "CONNECT"), (":authority", "a:443"), (":path", "/")]),
        ("CONNECT without :authority", [(":method", "CONNECT")]),
    ]

    @Test("a malformed request block is refused, whatever the rule it breaks (RFC 9113 §8.2, §8.3)")
    func malformedRequest() {
        for (rule, fields) in Self.malformedRequests {
            #expect(throws: HTTP2Fields.MalformedBlock.self, "\(rule)") { try HTTP2Fields.requestHead(Self.block(fields), endStream: true) }
        }
        // And the well-formed one they all start from passes.
        #expect(throws: Never.self) { try HTTP2Fields.requestHead(Self.block(Self.get(("te", "trailers"))), endStream: true) }
        // Tabs and spaces inside a value, an empty value and bytes past ASCII are allowed.
        #expect(throws: Never.self) { try HTTP2Fields.requestHead(Self.block(Self.get(("x", "a\tb c"), ("y", ""), ("z", "é"))), endStream: true) }
    }

    @Test("a refusal names a hostile name in at most 64 bytes, its control characters as spaces")
    func refusalNamesBriefly() throws {
        let long = ":" + String(repeating: "x\u{1}", count: 5_000)
        for fields in [[(long, "1")], [(":method", "GET"), ("a", "1"), (long, "1")], [(String(repeating: "X", count: 9_000), "1")]] {
            do {
                _ = try HTTP2Fields.requestHead(Self.block(fields), endStream: true)
                Issue.record("accepted")
            } catch {
                #expect(error.description.count < 200, "\(error.description.prefix(300))")
                #expect(!error.description.contains("\u{1}"))
            }
        }
    }

    @Test("a malformed response or trailer block is refused; te is no request field there, and passes")
    func malformedResponse() throws {
        for fields in [
            [("content-type", "x")], [(":status", "200"), (":status", "204")], [("x", "1"), (":status", "200")],
            [(":status", "200"), (":path", "/")], [(":status", "200"), ("Content-Type", "x")], [(":status", "200"), ("connection", "close")],
            [(":status", "200"), ("x", "a\r\nb")], [(":status", "2x0")],
        ] {
            #expect(throws: HTTP2Fields.MalformedBlock.self, "\(fields)") { try HTTP2Fields.responseHead(Self.block(fields)) }
        }
        for fields in [[(":status", "0")], [("Grpc-Status", "0")], [("grpc-status", "0\n")], [("upgrade", "x")]] {
            #expect(throws: HTTP2Fields.MalformedBlock.self, "\(fields)") { try HTTP2Fields.trailers(Self.block(fields)) }
        }
        #expect(try HTTP2Fields.trailers(Self.block([("grpc-status", "0"), ("te", "x")])).count == 2)
    }

    @Test("a request head for an upstream: pseudo-fields from the head and host, the rest in lower case without host; a host no authority can carry is refused")
    func requestBlock() throws {
        var head = try RequestHead(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/p", headers: ["Host": "a.test", "X-Trace": "1", "content-length": "3"]))
        let block = try HTTP2Fields.requestBlock(head)
        #expect(try Self.sent(block) == [":method: POST", ":scheme: http", ":authority: a.test", ":path: /p", "x-trace: 1", "content-length: 3"])
        // (A host with a control character never becomes a line: ``FieldLinesTests``.)
        for host in ["a b", ""] {
            head.fields = try FieldLines(["host": host])
            #expect(throws: HTTP2Fields.InvalidAuthority.self) { try HTTP2Fields.requestBlock(head) }
        }
        head.fields = FieldLines()
        #expect(throws: HTTP2Fields.MissingAuthority.self) { try HTTP2Fields.requestBlock(head) }
        // HTTP/2 allows te only as the lowercase `trailers` (NIO's upstreams reset anything else).
        head.fields = try FieldLines(["host": "a", "TE": "Trailers"])
        #expect(try Self.sent(HTTP2Fields.requestBlock(head)).last == "te: trailers")
        head.method = .CONNECT
        #expect(throws: HTTP2Fields.UnsendableConnect.self) { try HTTP2Fields.requestBlock(head) }
    }

    @Test("a response block: :status parsed (an unknown code kept), hop-by-hop fields dropped; a status that is not three digits is refused")
    func responseHead() throws {
        let head = try HTTP2Fields.responseHead(Self.block([(":status", "299"), ("grpc-status", "0")]))
        #expect(head.status.code == 299 && Self.fields(head.fields.headers) == ["grpc-status: 0"])
        #expect(try HTTP2Fields.responseHead(Self.block([(":status", "103")])).status.code == 103)
        // Hop-by-hop fields HTTP/2 lets through are dropped as an HTTP/1.1 upstream's are.
        let hop = try HTTP2Fields.responseHead(Self.block([(":status", "200"), ("trailer", "grpc-status"), ("x-a", "1"), ("proxy-authenticate", "Basic")]))
        #expect(Self.fields(hop.fields.headers) == ["x-a: 1"])
        // A pseudo-field after a field is malformed, even after one that is dropped.
        #expect(throws: HTTP2Fields.MalformedBlock.self) { try HTTP2Fields.responseHead(Self.block([("trailer", "x"), (":status", "200")])) }
        for status in ["20", "2000", "abc", "099", "+20"] {
            #expect(throws: HTTP2Fields.MalformedBlock.self, "\(status)") { try HTTP2Fields.responseHead(Self.block([(":status", status)])) }
        }
    }

    @Test("a response head and trailers for a client: names in lower case, :status first")
    func responseBlock() throws {
        let head = try ResponseHead(
            HTTPResponseHead(
                version: .http1_1, status: .notFound,
                headers: ["Content-Type": "text/plain", "x-a": "1", "x-Long-Name-Past-Fifteen-Bytes": "2", "ETAG": "\"A\""]))
        #expect(
            try Self.sent(HTTP2Fields.responseBlock(head)) == [
                ":status: 404", "content-type: text/plain", "x-a: 1", "x-long-name-past-fifteen-bytes: 2", "etag: \"A\"",
            ])
        #expect(try Self.sent(HTTP2Fields.trailerBlock(["Grpc-Status": "0"])) == ["grpc-status: 0"])
    }
}
