import NIOCore
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// The client-side timeouts through the real listener pipeline, in virtual time: a head that
/// stalls, a connection that says nothing, an idle keep-alive connection, a body that stalls.
@Suite("Client timeouts in-process")
struct ClientTimeoutTests {
    static let web = "web.test.svc.cluster.local"

    func proxy() throws -> InProcessProxy {
        try InProcessProxy.web(top: "timeouts: { requestHeader: 10s, keepAlive: 60s, requestBodyIdle: 30s }\n")
    }

    @Test("a request head that stalls: 408 after requestHeader, the connection closes, nothing goes upstream")
    func slowHead() throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        try client.send("GET /slowloris HTTP/1.1\r\nHost: \(Self.web)\r\nX-Slow: ")
        proxy.advance(by: .milliseconds(9999))
        #expect(try client.received() == "" && client.isOpen)
        proxy.advance(by: .milliseconds(1))
        let response = try client.received()
        #expect(response.hasPrefix("HTTP/1.1 408") && response.contains("switchyard-proxy-error: request header timeout"), "\(response)")
        #expect(!client.isOpen && proxy.upstreams.opened.isEmpty)
    }

    @Test("a connection that sends nothing closes after requestHeader")
    func silentConnection() throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        proxy.advance(by: .milliseconds(9999))
        #expect(client.isOpen)
        proxy.advance(by: .milliseconds(1))
        #expect(!client.isOpen)
    }

    @Test("an idle keep-alive connection closes keepAlive after its last response")
    func keepAliveIdle() throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        proxy.advance(by: .seconds(5))
        try client.send("GET / HTTP/1.1\r\nHost: \(Self.web)\r\n\r\n")
        proxy.advance(by: .seconds(20))  // a slow response is not idleness
        try proxy.upstreams.last(port: 9001).respond(.ok)
        #expect(try client.received().hasPrefix("HTTP/1.1 200"))
        proxy.advance(by: .milliseconds(59999))
        #expect(client.isOpen)
        proxy.advance(by: .milliseconds(1))
        #expect(!client.isOpen)
    }

    @Test("a request body that stalls: 408 after requestBodyIdle, the connection closes, the endpoint is not blamed")
    func stalledBody() throws {
        let proxy = try proxy()
        let client = try proxy.connect()
        try client.send("POST /half HTTP/1.1\r\nHost: \(Self.web)\r\nContent-Length: 100\r\n\r\nabc")
        proxy.advance(by: .seconds(29))
        try client.send("def")  // each read moves the bound
        proxy.advance(by: .seconds(29))
        #expect(try client.received() == "")
        proxy.advance(by: .seconds(1))
        let response = try client.received()
        #expect(response.hasPrefix("HTTP/1.1 408") && response.contains("switchyard-proxy-error: Service web.test: request body timeout"), "\(response)")
        #expect(!client.isOpen)
        #expect(!(try proxy.upstreams.last(port: 9001)).isActive)
    }
}
