import NIOHPACK
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// HTTP/2 field blocks to and from the heads the rest of the proxy speaks (``HTTP2Fields``).
@Suite("HTTP/2 fields")
struct HTTP2FieldsTests {
    static func block(_ fields: [(String, String)]) -> HPACKHeaders {
        HPACKHeaders(fields)
    }

    static func fields(_ headers: HTTPHeaders) -> [String] {
        headers.map { "\($0.name): \($0.value)" }
    }

    @Test("a request block: :authority becomes the first host field, a host the client sent stays beside it, pseudo-fields go")
    func requestHead() throws {
        let plain = try #require(
            HTTP2Fields.requestHead(
                Self.block([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/x?y"), ("accept", "*/*")]),
                endStream: true))
        #expect(plain.method == .GET && plain.uri == "/x?y" && plain.version == .http2)
        #expect(Self.fields(plain.headers) == ["host: a.test", "accept: */*"])
        let both = try #require(
            HTTP2Fields.requestHead(
                Self.block([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/"), ("host", "b.test")]),
                endStream: true))
        #expect(Self.fields(both.headers) == ["host: a.test", "host: b.test"], "validation sees both, and refuses them when they differ")
        let hostOnly = try #require(
            HTTP2Fields.requestHead(Self.block([(":method", "GET"), (":scheme", "http"), (":path", "/"), ("host", "b.test")]), endStream: true))
        #expect(Self.fields(hostOnly.headers) == ["host: b.test"])
    }

    @Test("a request that may carry a body and ends with its HEADERS gets content-length: 0; one that goes on, or a GET, gets none")
    func requestLength() throws {
        func head(_ method: String, endStream: Bool, _ extra: [(String, String)] = []) throws -> [String] {
            let block = Self.block([(":method", method), (":scheme", "http"), (":authority", "a"), (":path", "/")] + extra)
            return Self.fields(try #require(HTTP2Fields.requestHead(block, endStream: endStream)).headers)
        }
        #expect(try head("POST", endStream: true) == ["host: a", "content-length: 0"])
        #expect(try head("POST", endStream: false) == ["host: a"])
        #expect(try head("POST", endStream: true, [("content-length", "0")]) == ["host: a", "content-length: 0"])
        #expect(try head("GET", endStream: true) == ["host: a"])
        #expect(try head("DELETE", endStream: true) == ["host: a"])
    }

    @Test("a CONNECT (no :path) is no request head")
    func connect() {
        #expect(HTTP2Fields.requestHead(Self.block([(":method", "CONNECT"), (":authority", "a:443")]), endStream: false) == nil)
    }

    @Test("a request head for an upstream: pseudo-fields from the head and host, the rest in lower case without host; a host no authority can carry is refused")
    func requestBlock() throws {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/p")
        head.headers = ["Host": "a.test", "X-Trace": "1", "content-length": "3"]
        let block = try HTTP2Fields.requestBlock(head)
        #expect(block.map { "\($0.name): \($0.value)" } == [":method: POST", ":scheme: http", ":authority: a.test", ":path: /p", "x-trace: 1", "content-length: 3"])
        for host in ["a b", "", "a\u{7F}"] {
            head.headers = ["host": host]
            #expect(throws: HTTP2Fields.InvalidAuthority.self) { try HTTP2Fields.requestBlock(head) }
        }
        head.headers = [:]
        #expect(throws: HTTP2Fields.MissingAuthority.self) { try HTTP2Fields.requestBlock(head) }
    }

    @Test("a response block: :status parsed (an unknown code kept), other pseudo-fields dropped; a status that is not three digits is none")
    func responseHead() throws {
        let head = try #require(HTTP2Fields.responseHead(Self.block([(":status", "299"), ("grpc-status", "0")])))
        #expect(head.status.code == 299 && Self.fields(head.headers) == ["grpc-status: 0"])
        #expect(try #require(HTTP2Fields.responseHead(Self.block([(":status", "103")]))).status.code == 103)
        for status in ["20", "2000", "abc", "099"] {
            #expect(HTTP2Fields.responseHead(Self.block([(":status", status)])) == nil, "\(status)")
        }
        #expect(HTTP2Fields.responseHead(Self.block([("content-type", "text/plain")])) == nil)
    }

    @Test("a response head and trailers for a client: names in lower case, :status first")
    func responseBlock() {
        var head = HTTPResponseHead(version: .http1_1, status: .notFound)
        head.headers = ["Content-Type": "text/plain", "x-a": "1"]
        #expect(HTTP2Fields.responseBlock(head).map { "\($0.name): \($0.value)" } == [":status: 404", "content-type: text/plain", "x-a: 1"])
        #expect(HTTP2Fields.trailerBlock(["Grpc-Status": "0"]).map { "\($0.name): \($0.value)" } == ["grpc-status: 0"])
    }
}
