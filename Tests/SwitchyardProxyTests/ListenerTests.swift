import NIOCore
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// HTTP/1.x at the listener, in-process through the real pipeline (the request parser, validation,
/// the connection handler): malformed heads are refused and close the connection without
/// reaching an upstream, nothing pipelined behind a refusal is routed, HTTP/1.0 keep-alive.
@Suite("Listener in-process")
struct ListenerTests {
    static let host = "web.test.svc.cluster.local"

    func proxy() throws -> InProcessProxy {
        try InProcessProxy.web()
    }

    @Test(
        "a malformed head is answered 4xx/501 and the connection closes",
        arguments: [
            ("GET /malformed HTTP/1.1\r\nHost: \(host)\r\nHost: other.test\r\n\r\n", 400, "more than one Host header"),
            ("GET /malformed HTTP/1.1\r\n\r\n", 400, "missing Host header"),
            ("GET http://other.test/malformed HTTP/1.1\r\nHost: \(host)\r\n\r\n", 400, "Host does not match the request target's authority"),
            ("POST /malformed HTTP/1.1\r\nHost: \(host)\r\nTransfer-Encoding: \r\nContent-Length: 2\r\n\r\nok", 400,
             "both Content-Length and Transfer-Encoding"),
            ("POST /malformed HTTP/1.1\r\nHost: \(host)\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
             "unsupported Transfer-Encoding (only chunked is)"),
            // A Kelvin sign (U+212A) lowercases to "k": read as bytes, this is not chunked.
            ("POST /malformed HTTP/1.1\r\nHost: \(host)\r\nTransfer-Encoding: chun\u{212A}ed\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501,
             "unsupported Transfer-Encoding (only chunked is)"),
            ("GET /many HTTP/1.1\r\nHost: \(host)\r\n" + (0..<101).map { "x-h\($0): v\r\n" }.joined() + "\r\n", 431,
             "too many request headers (more than 100)"),
        ])
    func malformedHead(request: String, status: Int, message: String) throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        try client.send(request)
        let answer = try client.received()
        #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "\(answer)")
        #expect(answer.contains("switchyard-proxy-error: \(message)\r\n") && answer.hasSuffix("\r\n\r\n\(message)"), "\(answer)")
        #expect(!client.isOpen)
        #expect(proxy.upstreams.opened.isEmpty)
    }

    @Test("a request pipelined behind a refused one is never routed: the connection closed under it")
    func pipelinedAfterRefusal() throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        try client.send(
            "GET /refused HTTP/1.1\r\nHost: \(Self.host)\r\nHost: other.test\r\n\r\n"
                + "GET /pipelined-after-refusal HTTP/1.1\r\nHost: \(Self.host)\r\n\r\n")
        #expect(try client.received().hasPrefix("HTTP/1.1 400 "))
        #expect(!client.isOpen)
        #expect(proxy.upstreams.opened.isEmpty)
    }

    @Test("an absolute-form target naming the Host's authority is routed in origin form")
    func absoluteForm() throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        try client.send("GET http://\(Self.host)/absolute?x=1 HTTP/1.1\r\nHost: \(Self.host)\r\n\r\n")
        #expect(try proxy.upstreams.last(port: 9001).requestParts().head?.uri == "/absolute?x=1")
    }

    @Test("an HTTP/1.0 keep-alive client is answered keep-alive and its connection stays open; without it, closed")
    func http10() throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        for path in ["/one", "/two"] {
            try client.send("GET \(path) HTTP/1.0\r\nHost: \(Self.host)\r\nConnection: keep-alive\r\n\r\n")
            try proxy.upstreams.last(port: 9001).respond(.ok, body: path)
            let answer = try client.received()
            #expect(answer.hasPrefix("HTTP/1.0 200 OK\r\n") && answer.lowercased().contains("connection: keep-alive\r\n"), "\(answer)")
            #expect(client.isOpen)
        }
        try client.send("GET /last HTTP/1.0\r\nHost: \(Self.host)\r\n\r\n")
        try proxy.upstreams.last(port: 9001).respond(.ok)
        #expect(try client.received().hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(!client.isOpen)
    }

    @Test(
        "a request that asks to switch protocols, or an HTTP/1.0 one with a transfer coding, is answered with Connection: close; nothing behind it is routed",
        arguments: [
            "GET /ws HTTP/1.1\r\nHost: \(host)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "POST /old HTTP/1.0\r\nHost: \(host)\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ])
    func closesAfterFaultyOrUpgrade(request: String) throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        try client.send(request + "GET /admin HTTP/1.1\r\nHost: \(Self.host)\r\n\r\n")
        let upstream = try proxy.upstreams.last(port: 9001)
        #expect(try upstream.requestParts().head?.fields.contains(name: "upgrade") == false)
        try upstream.respond(.ok)
        let answer = try client.received()
        #expect(answer.contains(" 200 OK\r\n") && answer.contains("connection: close\r\n"), "\(answer)")
        #expect(!client.isOpen)
        #expect(proxy.upstreams.opened.count == 1, "the request behind it was routed")
    }

    @Test("a drain: the next response says Connection: close and the connection closes after it")
    func drain() throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        try client.send("GET / HTTP/1.1\r\nHost: \(Self.host)\r\n\r\n")
        proxy.slot.quiesce()
        try proxy.upstreams.last(port: 9001).respond(.ok)
        let answer = try client.received()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.contains("connection: close\r\n"), "\(answer)")
        #expect(!client.isOpen)
    }
}
