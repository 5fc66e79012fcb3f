import Foundation
import SwitchyardTestSupport
import Testing

/// Every timeout over real sockets, with short limits: the client side (request head,
/// keep-alive, request body), the route's (request, response, idle), gRPC's `grpc-timeout`,
/// and the upstream pool's idle close.
@Suite("Timeouts", .serialized)
final class TimeoutTests {
    static let web = "web.test.svc.cluster.local"
    let upstreams: BackgroundProcess
    let blackhole: BackgroundProcess
    let proxy: BackgroundProcess
    let port: Int

    init() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web"])
        self.upstreams = upstreams
        let (blackhole, silentPort) = try Attacks.blackhole()
        self.blackhole = blackhole
        let config = """
            listen: 127.0.0.1:0
            timeouts: { requestHeader: 1s, keepAlive: 2s, requestBodyIdle: 1s, upstreamIdle: 1s }
            services:
              - authority: \(Self.web):80
                timeouts: { request: 1s }
              - authority: upload.test.svc.cluster.local:80
                routes:
                  - rules:
                      - backends: [{ service: \(Self.web):80 }]
              - authority: silent.test.svc.cluster.local:80
                timeouts: { response: 1s }
                routes:
                  - metadata: { kind: HTTPRoute, name: idle }
                    timeouts: { response: 0s, idle: 1500ms }
                    rules:
                      - matches: [{ path: { prefix: /idle } }]
                        backends: [{ service: silent.test.svc.cluster.local:80 }]
                  - rules:
                      - backends: [{ service: silent.test.svc.cluster.local:80 }]
              - authority: grpc.test.svc.cluster.local:80
                protocol: grpc
                failureAccrual: { consecutive: { maxFailures: 1 } }
                routes:
                  - rules:
                      - backends: [{ service: grpc-silent.test.svc.cluster.local:80 }]
            backends:
              - { authority: \(Self.web):80, endpoints: [{ address: 127.0.0.1:\(ports["web"]!) }] }
              - { authority: silent.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(silentPort) }] }
              - { authority: grpc-silent.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(silentPort) }] }
            """
        (proxy, port) = try Peers.proxy(config: config)
    }

    deinit {
        proxy.stop()
        blackhole.stop()
        upstreams.stop()
    }

    @Test("a request head that stalls: 408 after requestHeader, and the connection closes")
    func slowHead() throws {
        let seen = try Attacks.stall(port: port, "GET /slowloris HTTP/1.1\r\nHost: \(Self.web)\r\nX-Slow: ", seconds: 10)
        #expect(seen.status == 408)
        #expect(seen.headers["switchyard-proxy-error"] == "request header timeout")
        #expect(seen.closed)
        #expect(seen.elapsed >= 0.9 && seen.elapsed < 5, "closed after \(seen.elapsed)s")
        #expect(!upstreams.text.contains("/slowloris"))
    }

    @Test("a connection that sends nothing closes after requestHeader")
    func silentConnection() throws {
        let seen = try Attacks.stall(port: port, "", seconds: 10)
        #expect(seen.closed)
        #expect(seen.elapsed >= 0.9 && seen.elapsed < 5, "closed after \(seen.elapsed)s")
    }

    @Test("an idle keep-alive connection closes after keepAlive")
    func keepAliveIdle() throws {
        let seen = try Attacks.stall(port: port, "GET / HTTP/1.1\r\nHost: \(Self.web)\r\n\r\n", seconds: 10)
        #expect(seen.status == 200)
        #expect(seen.closed)
        #expect(seen.elapsed >= 1.9 && seen.elapsed < 6, "closed after \(seen.elapsed)s")
    }

    @Test("an idle HTTP/2 connection gets a graceful GOAWAY after keepAlive and closes")
    func http2KeepAliveIdle() throws {
        let result = try Subprocess.run(
            "/usr/bin/env", ["python3", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/attacks.py", "h2-session", String(port), Self.web, "-"])
        let line = result.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        let goaways = report["goaways"] as? [[Int]] ?? []
        #expect(!goaways.isEmpty && goaways.allSatisfy { $0[0] == 0 }, "\(report)")
        #expect(report["closed"] as? Bool == true)
        let elapsed = report["elapsed"] as? Double ?? 0
        #expect(elapsed >= 1.9 && elapsed < 8, "closed after \(elapsed)s")
    }

    @Test("a request body that stalls: 408 after requestBodyIdle, and the connection closes")
    func stalledBody() throws {
        let seen = try Attacks.stall(port: port, "POST /half HTTP/1.1\r\nHost: upload.test.svc.cluster.local\r\nContent-Length: 100\r\n\r\nabc", seconds: 10)
        #expect(seen.status == 408)
        #expect(seen.headers["switchyard-proxy-error"] == "Service web.test: request body timeout")
        #expect(seen.elapsed >= 0.9 && seen.elapsed < 5, "answered after \(seen.elapsed)s")
        #expect(seen.closed)
    }

    @Test("an upstream that never answers: 504 after the route's response timeout")
    func responseTimeout() throws {
        let started = Date()
        let response = try Curl.request(port: port, host: "silent.test.svc.cluster.local")
        #expect(response.status == 504)
        #expect(response.headers["switchyard-proxy-error"] == "Service silent.test: response timeout")
        #expect(Date().timeIntervalSince(started) < 5)
        let metrics = try Peers.admin(try Peers.adminPort(of: proxy), "/metrics").body
        #expect(metrics.contains("error=\"RESPONSE_HEADERS_TIMEOUT\"} 1"), "\(metrics)")
    }

    @Test("no bytes either way for the route's idle timeout: 504")
    func idleTimeout() throws {
        let started = Date()
        let response = try Curl.request(port: port, host: "silent.test.svc.cluster.local", path: "/idle")
        #expect(response.status == 504)
        #expect(response.headers["switchyard-proxy-error"] == "Service silent.test: idle timeout")
        #expect(Date().timeIntervalSince(started) >= 1.4)
    }

    @Test("a slow upstream past the route's request timeout: 504")
    func requestTimeout() throws {
        let response = try Curl.request(port: port, host: Self.web, path: "/slow?ms=3000")
        #expect(response.status == 504)
        #expect(response.headers["switchyard-proxy-error"] == "Service web.test: request timeout")
    }

    @Test("a gRPC request's grpc-timeout bounds it: DEADLINE_EXCEEDED, never counted against the endpoint")
    func grpcTimeout() throws {
        for timeout in ["500m", "1n", "1n"] {
            let report = try Attacks.http2Request(
                port: port, host: "grpc.test.svc.cluster.local", path: "/test.Echo/Unary",
                headers: ["content-type=application/grpc", "te=trailers", "grpc-timeout=\(timeout)"])
            let trailers = report["trailers"] as? [String: String] ?? report["headers"] as? [String: String] ?? [:]
            #expect(trailers["grpc-status"] == "4", "\(report)")
            #expect((report["elapsed"] as? Double ?? 99) < 5)
        }
        // A deadline the client chose is not the endpoint's failure: with maxFailures 1, a
        // counted timeout would have tripped the breaker.
        let metrics = try Peers.admin(try Peers.adminPort(of: proxy), "/metrics").body
        let pending = MetricSeries.balancerEndpoints(namespace: "test", name: "grpc-silent", parent: "grpc", port: 80, state: "pending")
        #expect(Peers.metric(metrics, pending) == 0, "\(metrics)")
    }

    @Test("a pooled upstream connection closes after upstreamIdle")
    func upstreamIdle() throws {
        let response = try Curl.request(port: port, host: Self.web, path: "/pooled")
        #expect(response.status == 200)
        let id = try #require(response.headers["x-connection-id"])
        _ = try upstreams.waitForLine(containing: "closed web \(id)", timeout: 10)
    }
}
