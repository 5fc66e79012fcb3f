import NIOCore
import NIOEmbedded
import NIOHTTP1
import SwitchyardTestSupport
import Testing

@_spi(Benchmarks) @testable import SwitchyardProxy

/// The data path in-process: client bytes in through the real listener pipeline, upstream
/// parts answered by hand, virtual time for queues, breakers and route timeouts. No sockets,
/// no wall clock.
@Suite("Data path in-process")
struct DataPathTests {
    static let web = "web.test.svc.cluster.local"

    static func get(_ path: String = "/", host: String = web, headers: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\(headers)\r\n"
    }

    @Test("a request goes upstream in origin form and its answer comes back; the connection is pooled and reused")
    func proxiesAndPools() throws {
        let proxy = try InProcessProxy.web()
        let client = try proxy.connect()
        for round in 1...2 {
            try client.send(Self.get("/r\(round)", headers: "Connection: keep-alive, x-hop\r\nX-Hop: 1\r\n"))
            let upstream = try proxy.upstreams.last(port: 9001)
            let head = try #require(try upstream.requestParts().head)
            #expect(head.uri == "/r\(round)" && head.fields.values(name: "host") == ["\(Self.web)"])
            #expect(!head.fields.contains(name: "x-hop") && !head.fields.contains(name: "connection"))
            try upstream.respond(.ok, body: "hi \(round)")
            let response = try client.received()
            #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n") && response.hasSuffix("\r\n\r\nhi \(round)"), "\(response)")
        }
        #expect(proxy.upstreams.opened.count == 1)
        #expect(proxy.metric(MetricSeries.routeBackendResponses(namespace: "test", name: "web", port: 80, status: "200")) == 2)
        let labels = MetricSeries.routeBackend(namespace: "test", name: "web", port: 80)
        #expect(proxy.metric("outbound_http_route_backend_response_duration_seconds_count{\(labels)}") == 2)
        #expect(proxy.metric("outbound_http_route_backend_response_duration_seconds_bucket{\(labels),le=\"0.001\"}") == 2)
    }

    @Test(
        "a reload's retired backend lets go of its endpoints: the request in flight on it is answered, then the backend and its endpoint are freed (no reference cycle outlives a reload)"
    )
    func retiredBackendIsFreed() throws {
        let proxy = try InProcessProxy.web()
        let client = try proxy.connect()
        weak var backend: BackendRuntime?
        weak var endpoint: EndpointRuntime?
        do {
            try client.send(Self.get("/in-flight"))
            let retired = proxy.slot.state
            backend = retired.backends.first
            endpoint = retired.backends.first?.endpoints.first
            // What a reload does on each loop: the next state is served, the old one retires.
            let generation = proxy.path.generation
            proxy.slot.state = try LoopState(
                eventLoop: proxy.loop, loopIndex: 0, generation: generation, seed: 2, connector: generation.environment.connector)
            retired.retire()
        }
        #expect(backend != nil && endpoint != nil, "the exchange in flight holds them")
        let upstream = try proxy.upstreams.last(port: 9001)
        _ = try upstream.requestParts()
        try upstream.respond(.ok, body: "late")
        #expect(try client.received().hasSuffix("\r\n\r\nlate"))
        #expect(backend == nil, "the retired backend is freed")
        #expect(endpoint == nil, "its endpoint is freed")
    }

    @Test("a client that leaves while its upstream connection opens: the connection, once open, is closed unused, and the endpoint serves the next client")
    func clientLeavesDuringConnect() throws {
        let proxy = try InProcessProxy.web()
        proxy.upstreams.connectTime = .milliseconds(5)
        do {
            let client = try proxy.connect()
            try client.send(Self.get("/gone"))
            try client.channel.close().wait()
        }
        proxy.advance(by: .milliseconds(5))
        let abandoned = try proxy.upstreams.last(port: 9001)
        #expect(!abandoned.isActive, "closed unused")
        proxy.upstreams.connectTime = nil
        let next = try proxy.connect()
        try next.send(Self.get("/next"))
        let upstream = try proxy.upstreams.last(port: 9001)
        #expect(upstream !== abandoned)
        _ = try upstream.requestParts()
        try upstream.respond(.ok, body: "served")
        #expect(try next.received().hasSuffix("\r\n\r\nserved"))
    }

    /// The web service over ``EmbeddedDataPath`` with the upstream's real HTTP/1.1 codec,
    /// spoken to in bytes on one client connection.
    struct BytePeers {
        let path: EmbeddedDataPath
        let client: EmbeddedChannel

        init() throws {
            path = try EmbeddedDataPath(
                yaml: """
                    services: [{ authority: web.test.svc.cluster.local:80 }]
                    backends: [{ authority: web.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:9001 }] }]
                    """, pluginDirectory: BuildProducts.directory)
            client = try path.connectClient()
        }

        /// Sends `request`, answers what reached the upstream with `answer`; returns both sides' bytes.
        func roundTrip(_ request: String, answer: String) throws -> (sent: String, received: String) {
            try client.writeInbound(ByteBuffer(string: request))
            client.read()
            let upstream = try #require(path.lastUpstream)
            var sent = ""
            while let buffer = try upstream.readOutbound(as: ByteBuffer.self) { sent += String(buffer: buffer) }
            try upstream.writeInbound(ByteBuffer(string: answer))
            var received = ""
            while let buffer = try client.readOutbound(as: ByteBuffer.self) { received += String(buffer: buffer) }
            return (sent, received)
        }
    }

    @Test("bytes to bytes with the upstream's real codec (the benchmarks' EmbeddedDataPath): keep-alive on both sides")
    func bytesToBytes() throws {
        let peers = try BytePeers()
        for round in 1...3 {
            let (sent, received) = try peers.roundTrip(Self.get("/b\(round)"), answer: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            #expect(sent.hasPrefix("GET /b\(round) HTTP/1.1\r\n") && sent.lowercased().contains("\r\nhost: \(Self.web)\r\n"), "\(sent)")
            #expect(received.hasPrefix("HTTP/1.1 200 OK\r\n") && received.hasSuffix("\r\n\r\nok"), "\(received)")
        }
        #expect(peers.path.upstreams.opened.count == 1)
    }

    @Test("the upstream gets the head as the exchange framed it: a length as is, a chunked body in chunks with its trailers, a request without a body with neither")
    func upstreamRequestBytes() throws {
        let peers = try BytePeers()
        func sent(_ request: String) throws -> String { try peers.roundTrip(request, answer: "HTTP/1.1 204 No Content\r\n\r\n").sent }
        let host = "Host: \(Self.web)\r\n"
        #expect(try sent("POST /a HTTP/1.1\r\n\(host)Content-Length: 5\r\n\r\nhello") == "POST /a HTTP/1.1\r\n\(host)Content-Length: 5\r\n\r\nhello")
        // A length the proxy would not write so is written anew.
        #expect(try sent("POST /a HTTP/1.1\r\n\(host)Content-Length: 05\r\n\r\nhello") == "POST /a HTTP/1.1\r\n\(host)content-length: 5\r\n\r\nhello")
        let chunked = try sent("POST /b HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 5\r\n\r\n")
        #expect(chunked == "POST /b HTTP/1.1\r\n\(host)transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 5\r\n\r\n", "\(chunked)")
        #expect(try sent("POST /c HTTP/1.1\r\n\(host)Content-Length: 0\r\n\r\n") == "POST /c HTTP/1.1\r\n\(host)Content-Length: 0\r\n\r\n")
        #expect(try sent("DELETE /d HTTP/1.1\r\n\(host)\r\n") == "DELETE /d HTTP/1.1\r\n\(host)\r\n")
        #expect(peers.path.upstreams.opened.count == 1)
    }

    @Test("pipelined requests go upstream one at a time, and their responses come back in order")
    func pipelining() throws {
        let proxy = try InProcessProxy.web()
        let client = try proxy.connect()
        try client.send(Self.get("/one") + Self.get("/two") + Self.get("/three"))
        var bodies: [String] = []
        for path in ["/one", "/two", "/three"] {
            let upstream = try proxy.upstreams.last(port: 9001)
            let parts = try upstream.requestParts()
            #expect(parts.head?.uri == path, "\(parts)")
            #expect(try upstream.requestParts().isEmpty)  // the next waits for this response
            try upstream.respond(.ok, body: path)
            bodies.append(try client.received())
        }
        #expect(bodies.map { $0.split(separator: "\r\n").last.map(String.init) } == ["/one", "/two", "/three"])
        #expect(proxy.upstreams.opened.count == 1)
    }

    @Test("Expect: 100-continue is answered by the proxy, which then reads the body and frames it itself")
    func expectContinue() throws {
        let proxy = try InProcessProxy.web()
        let client = try proxy.connect()
        try client.send("POST /up HTTP/1.1\r\nHost: \(Self.web)\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(try client.received() == "HTTP/1.1 100 Continue\r\n\r\n")
        try client.send("hello")
        let upstream = try proxy.upstreams.last(port: 9001)
        let parts = try upstream.requestParts()
        let head = try #require(parts.head)
        #expect(!head.fields.contains(name: "expect") && head.fields.values(name: "content-length") == ["5"])
        #expect(parts.dropFirst().first == .body(ByteBuffer(string: "hello")))
        try upstream.respond(.created)
        #expect(try client.received().hasPrefix("HTTP/1.1 201 Created\r\n"))
    }

    @Test("no ready endpoint: requests queue up to capacity (503 past it), then fail fast (504) and are shed (503) until one is ready")
    func queueAndFailFast() throws {
        let proxy = try InProcessProxy(
            """
            services:
              - authority: \(Self.web):80
                failureAccrual: { consecutive: { maxFailures: 1, minPenalty: 10s, maxPenalty: 10s, jitter: 0 } }
            backends:
              - authority: \(Self.web):80
                queue: { capacity: 1, failfastTimeout: 1s }
                endpoints: [{ address: 127.0.0.1:9001 }]
            """)
        let first = try proxy.connect()
        try first.send(Self.get())
        try proxy.upstreams.last(port: 9001).respond(.internalServerError)  // trips the breaker
        #expect(try first.received().hasPrefix("HTTP/1.1 500"))

        let queued = try proxy.connect()
        try queued.send(Self.get())
        let overflow = try proxy.connect()
        try overflow.send(Self.get())
        let full = try overflow.received()
        #expect(full.hasPrefix("HTTP/1.1 503") && full.contains("switchyard-proxy-error: Service web.test: service unavailable: queue is full"), "\(full)")
        #expect(try queued.received() == "")

        proxy.advance(by: .milliseconds(999))
        #expect(try queued.received() == "")
        proxy.advance(by: .milliseconds(1))
        let failedFast = try queued.received()
        #expect(failedFast.hasPrefix("HTTP/1.1 504") && failedFast.contains("Service web.test: service in fail-fast"), "\(failedFast)")

        let shed = try proxy.connect()
        try shed.send(Self.get())
        #expect(try shed.received().contains("service unavailable: load shed while in fail-fast"))
        #expect(proxy.upstreams.opened.count == 1)
        #expect(proxy.metric(MetricSeries.routeBackendResponses(namespace: "test", name: "web", port: 80, status: "", error: "FAIL_FAST")) == 1)
        #expect(proxy.metric(MetricSeries.routeBackendResponses(namespace: "test", name: "web", port: 80, status: "", error: "LOAD_SHED")) == 2)
    }

    @Test("the breaker trips after maxFailures, sits out its penalty, probes once, doubles the penalty on a failed probe, reopens")
    func breakerCycle() throws {
        let proxy = try InProcessProxy(
            """
            services:
              - authority: \(Self.web):80
                failureAccrual: { consecutive: { maxFailures: 2, minPenalty: 2s, maxPenalty: 60s, jitter: 0 } }
            backends:
              - authority: \(Self.web):80
                queue: { failfastTimeout: 600s }
                endpoints: [{ address: 127.0.0.1:9001 }]
            """)
        let endpoints = { (state: String) in
            proxy.metric(MetricSeries.balancerEndpoints(namespace: "test", name: "web", port: 80, state: state))
        }
        let transitions = { (kind: String) in
            proxy.metric(
                "outbound_http_breaker_transitions_total{\(MetricSeries.service("backend", namespace: "test", name: "web", port: 80)),"
                    + "endpoint_addr=\"127.0.0.1:9001\",transition=\"\(kind)\"}") ?? 0
        }
        let client = try proxy.connect()
        for _ in 0..<2 {
            try client.send(Self.get())
            let upstream = try proxy.upstreams.last(port: 9001)
            #expect(try upstream.requestParts().head != nil)
            try upstream.respond(.serviceUnavailable)
            _ = try client.received()
        }
        #expect(transitions("tripped") == 1 && endpoints("ready") == 0 && endpoints("pending") == 1)

        // While tripped, a request waits in the queue: nothing reaches the endpoint.
        try client.send(Self.get("/waits"))
        let upstream = try proxy.upstreams.last(port: 9001)
        #expect(try upstream.requestParts().isEmpty)
        proxy.advance(by: .milliseconds(1999))
        #expect(try upstream.requestParts().isEmpty)

        // The penalty ends: the queued request is the one probe, and it fails.
        proxy.advance(by: .milliseconds(1))
        #expect(try upstream.requestParts().head?.uri == "/waits")
        #expect(transitions("probing") == 1)
        try upstream.respond(.internalServerError)
        #expect(try client.received().hasPrefix("HTTP/1.1 500"))
        #expect(transitions("tripped") == 2)

        // The penalty doubled: 2 s more is not enough, 4 s is; this probe succeeds.
        try client.send(Self.get("/again"))
        proxy.advance(by: .seconds(2))
        #expect(try upstream.requestParts().isEmpty)
        proxy.advance(by: .seconds(2))
        #expect(try upstream.requestParts().head?.uri == "/again")
        try upstream.respond(.ok)
        #expect(try client.received().hasPrefix("HTTP/1.1 200"))
        #expect(transitions("reopened") == 1 && transitions("probing") == 2)
        #expect(endpoints("ready") == 1 && endpoints("pending") == 0)
    }

    @Test("an endpoint that refuses the connection: 502 naming the address, counted against its breaker")
    func connectRefused() throws {
        let proxy = try InProcessProxy(
            """
            services:
              - authority: \(Self.web):80
                failureAccrual: { consecutive: { maxFailures: 1, minPenalty: 10s, jitter: 0 } }
            backends: [{ authority: \(Self.web):80, endpoints: [{ address: 127.0.0.1:9001 }] }]
            """)
        proxy.upstreams.refusing = [9001]
        let client = try proxy.connect()
        try client.send(Self.get())
        let response = try client.received()
        #expect(response.hasPrefix("HTTP/1.1 502") && response.contains("Service web.test: connect to 127.0.0.1:9001 failed: "), "\(response)")
        #expect(proxy.metric(MetricSeries.balancerEndpoints(namespace: "test", name: "web", port: 80, state: "pending")) == 1)
    }

    @Test("route timeouts: response (no head), idle (no bytes), request (the whole exchange); the upstream connection closes")
    func routeTimeouts() throws {
        let proxy = try InProcessProxy(
            """
            services:
              - authority: \(Self.web):80
                timeouts: { request: 10s, response: 1s, idle: 3s }
            backends: [{ authority: \(Self.web):80, endpoints: [{ address: 127.0.0.1:9001 }] }]
            """)
        let client = try proxy.connect()
        try client.send(Self.get("/silent"))
        proxy.advance(by: .milliseconds(999))
        #expect(try client.received() == "")
        proxy.advance(by: .milliseconds(1))
        let response = try client.received()
        #expect(response.hasPrefix("HTTP/1.1 504") && response.contains("Service web.test: response timeout"), "\(response)")
        #expect(!(try proxy.upstreams.last(port: 9001)).isActive)

        // A head, then silence: the idle bound closes the client (a partial response cannot
        // become an error).
        try client.send(Self.get("/stalls"))
        let second = try proxy.upstreams.last(port: 9001)
        try second.writeInbound(UpstreamResponsePart.head(ResponseHead(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "10"]))))
        try second.writeInbound(UpstreamResponsePart.body(ByteBuffer(string: "12345")))
        proxy.advance(by: .seconds(2))
        #expect(client.isOpen)
        proxy.advance(by: .seconds(1))
        #expect(!client.isOpen && !second.isActive)
        #expect(proxy.metric(MetricSeries.routeBackendResponses(namespace: "test", name: "web", port: 80, status: "200", error: "IDLE_TIMEOUT")) == 1)

        // Bytes keep the idle bound away; the request bound still ends it.
        let third = try proxy.connect()
        try third.send(Self.get("/trickle"))
        let upstream = try proxy.upstreams.last(port: 9001)
        try upstream.writeInbound(UpstreamResponsePart.head(ResponseHead(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "100"]))))
        for _ in 0..<9 {
            proxy.advance(by: .seconds(1))
            try upstream.writeInbound(UpstreamResponsePart.body(ByteBuffer(string: ".")))
        }
        #expect(third.isOpen)
        proxy.advance(by: .seconds(1))
        #expect(!third.isOpen)
        #expect(proxy.metric(MetricSeries.routeBackendResponses(namespace: "test", name: "web", port: 80, status: "200", error: "REQUEST_TIMEOUT")) == 1)
    }

    @Test("an interim 102 from the upstream keeps the idle bound away, and never reaches the client")
    func interimResponses() throws {
        let proxy = try InProcessProxy(
            """
            services: [{ authority: \(Self.web):80, timeouts: { idle: 2s } }]
            backends: [{ authority: \(Self.web):80, endpoints: [{ address: 127.0.0.1:9001 }] }]
            """)
        let client = try proxy.connect()
        try client.send(Self.get("/slow"))
        let upstream = try proxy.upstreams.last(port: 9001)
        for _ in 0..<3 {
            proxy.advance(by: .milliseconds(1500))
            try upstream.writeInbound(UpstreamResponsePart.head(ResponseHead(version: .http1_1, status: .processing)))
        }
        try upstream.respond(.ok, body: "done")
        let response = try client.received()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n") && response.hasSuffix("done"), "\(response)")

        // An upstream that ends after only an interim head: 502, and the connection is dropped.
        try client.send(Self.get("/broken"))
        try upstream.writeInbound(UpstreamResponsePart.head(ResponseHead(version: .http1_1, status: .processing)))
        try upstream.writeInbound(UpstreamResponsePart.end(nil))
        let broken = try client.received()
        #expect(broken.hasPrefix("HTTP/1.1 502") && broken.contains("came before its final head"), "\(broken)")
        #expect(!upstream.isActive)
    }

    @Test("a pooled upstream connection closes after upstreamIdle")
    func upstreamIdle() throws {
        let proxy = try InProcessProxy.web(top: "timeouts: { upstreamIdle: 5s }\n")
        let client = try proxy.connect()
        try client.send(Self.get())
        let upstream = try proxy.upstreams.last(port: 9001)
        try upstream.respond(.ok)
        proxy.advance(by: .milliseconds(4999))
        #expect(upstream.isActive)
        proxy.advance(by: .milliseconds(1))
        #expect(!upstream.isActive)
    }

    @Test("a gRPC trailers-only head: its status fields move to the trailers")
    func trailersOnly() throws {
        var head = try ResponseHead(
            HTTPResponseHead(
                version: .http2, status: .ok,
                headers: ["content-type": "application/grpc", "grpc-status": "14", "grpc-message": "down", "content-length": "0"]))
        let trailers = try #require(GRPCTrailersOnly.split(&head))
        #expect(trailers["grpc-status"] == ["14"] && trailers["grpc-message"] == ["down"])
        #expect(head.fields.headers.map(\.name) == ["content-type"])
        var ordinary = try ResponseHead(HTTPResponseHead(version: .http2, status: .ok, headers: ["content-type": "application/grpc"]))
        #expect(GRPCTrailersOnly.split(&ordinary) == nil)
    }
}
