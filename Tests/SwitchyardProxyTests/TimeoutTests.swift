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
                routes:
                  - rules:
                      - backends: [{ service: silent.test.svc.cluster.local:80 }]
            backends:
              - { authority: \(Self.web):80, endpoints: [{ address: 127.0.0.1:\(ports["web"]!) }] }
              - { authority: silent.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(silentPort) }] }
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

    @Test("a request body that stalls: 408 after requestBodyIdle, the upstream connection dropped")
    func stalledBody() throws {
        let seen = try Attacks.stall(port: port, "POST /half HTTP/1.1\r\nHost: \(Self.web)\r\nContent-Length: 100\r\n\r\nabc", seconds: 10)
        #expect(seen.status == 408)
        #expect(seen.headers["switchyard-proxy-error"] == "Service web.test: request body timeout")
        #expect(seen.closed)
        #expect(seen.elapsed >= 0.9 && seen.elapsed < 5, "answered after \(seen.elapsed)s")
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

    @Test("a gRPC request's grpc-timeout bounds it: DEADLINE_EXCEEDED")
    func grpcTimeout() throws {
        let report = try Attacks.http2Request(
            port: port, host: "grpc.test.svc.cluster.local", path: "/test.Echo/Unary",
            headers: ["content-type=application/grpc", "te=trailers", "grpc-timeout=500m"])
        let trailers = report["trailers"] as? [String: String] ?? [:]
        #expect(trailers["grpc-status"] == "4", "\(report)")
        #expect((report["elapsed"] as? Double ?? 99) < 5)
    }

    @Test("a pooled upstream connection closes after upstreamIdle")
    func upstreamIdle() throws {
        let response = try Curl.request(port: port, host: Self.web, path: "/pooled")
        #expect(response.status == 200)
        let id = try #require(response.headers["x-connection-id"])
        _ = try upstreams.waitForLine(containing: "closed web \(id)", timeout: 10)
    }
}
