import Foundation
import SwitchyardTestSupport
import Testing

/// Timeouts over real sockets, for what only sockets show: a slowloris head, an idle HTTP/2
/// connection's GOAWAY, and gRPC's `grpc-timeout` through an HTTP/2 upstream. The rest (every
/// client-side and route bound, the upstream pool's idle close) run in virtual time in
/// `ClientTimeoutTests` and `DataPathTests`.
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
            timeouts: { requestHeader: 1s, keepAlive: 2s }
            services:
              - authority: \(Self.web):80
              - authority: grpc.test.svc.cluster.local:80
                protocol: grpc
                failureAccrual: { consecutive: { maxFailures: 1 } }
                routes:
                  - rules:
                      - backends: [{ service: grpc-silent.test.svc.cluster.local:80 }]
            backends:
              - { authority: \(Self.web):80, endpoints: [{ address: 127.0.0.1:\(ports["web"]!) }] }
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
        #expect(!upstreams.text.contains("/slowloris"))
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
    }

    @Test("an HTTP/2 client that never opens its window for an ended response: the stream is reset (CANCEL) after keepAlive")
    func http2ClosedWindow() throws {
        // The upstream's answer ends at once, so no exchange bounds the wait for the window.
        let report = try Attacks.run("h2-stream", port: port, host: Self.web, "closed-window")
        #expect(report["status"] as? Int == 200, "\(report)")
        #expect(report["data"] as? Int == 0, "the client opened no window: \(report)")
        #expect(report["reset"] as? Int == 0x8, "CANCEL: \(report)")
        let elapsed = report["elapsed"] as? Double ?? 0
        #expect(elapsed >= 1.5 && elapsed < 9, "keepAlive is 2 s: \(report)")
    }

    @Test("an HTTP/2 client that opens its window a byte at a time cannot stretch that bound")
    func http2TrickledWindow() throws {
        let report = try Attacks.run("h2-stream", port: port, host: Self.web, "trickle-window:/download?bytes=1000")
        #expect(report["status"] as? Int == 200, "\(report)")
        #expect((report["data"] as? Int ?? 0) >= 2, "bytes went out as the window opened: \(report)")
        #expect(report["reset"] as? Int == 0x8, "CANCEL: \(report)")
        let elapsed = report["elapsed"] as? Double ?? 0
        #expect(elapsed >= 1.5 && elapsed < 9, "keepAlive is 2 s: \(report)")
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
}
