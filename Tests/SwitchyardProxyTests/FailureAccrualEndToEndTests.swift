import Foundation
import SwitchyardTestSupport
import Testing

/// The consecutive-failures breaker over real sockets: an endpoint answering 500s trips after
/// maxFailures, gets no traffic during its penalty, gets exactly one probe when the penalty
/// ends, and comes back when a probe succeeds; the endpoints gauge and the log say so.
@Suite("Failure accrual end to end", .serialized)
final class FailureAccrualEndToEndTests {
    let upstreams: BackgroundProcess
    let ports: [String: Int]
    let proxy: BackgroundProcess
    let port: Int
    let admin: Int
    let host = "web.test.svc.cluster.local"

    init() throws {
        (upstreams, ports) = try Peers.httpUpstreams(["good", "flaky"])
        (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services:
                  - authority: web.test.svc.cluster.local:80
                    failureAccrual: { consecutive: { maxFailures: 3, minPenalty: 2s, maxPenalty: 10s, jitter: 0 } }
                backends:
                  - authority: web.test.svc.cluster.local:80
                    balancer: { name: round-robin }
                    endpoints:
                      - { address: 127.0.0.1:\(ports["good"]!) }
                      - { address: 127.0.0.1:\(ports["flaky"]!) }
                """)
        admin = try Peers.adminPort(of: proxy)
    }

    /// The balancer's endpoints in `state`, from `/metrics`.
    func endpoints(_ state: String) throws -> Double? {
        Peers.metric(try Peers.admin(admin, "/metrics").body, MetricSeries.balancerEndpoints(namespace: "test", name: "web", port: 80, state: state))
    }

    deinit {
        proxy.stop()
        upstreams.stop()
    }

    /// Sends requests one after another for `seconds`; returns who served each.
    func traffic(for seconds: Double) throws -> [String] {
        var served: [String] = []
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            served.append(try Curl.request(port: port, host: host, path: "/x").headers["x-upstream"] ?? "none")
            Thread.sleep(forTimeInterval: 0.02)
        }
        return served
    }

    @Test("trips after maxFailures, sits out its penalty, probes once, reopens")
    func breakerCycle() throws {
        #expect(try endpoints("ready") == 2 && endpoints("pending") == 0)
        // Round-robin alternates, so six requests reach flaky three times: it trips.
        let first = try (0..<6).map { _ in try Curl.request(port: port, host: host, path: "/x") }
        #expect(first.filter { $0.status == 500 }.count == 3)
        let context = "service{ns=test name=web port=80}:endpoint{addr=127.0.0.1:\(ports["flaky"]!)}: switchyard::breaker:"
        let tripped = try proxy.waitForLine(containing: "Consecutive failure-accrual breaker tripped")
        #expect(tripped.contains(" INFO \(context) Consecutive failure-accrual breaker tripped"), "\(tripped)")
        #expect(try endpoints("ready") == 1 && endpoints("pending") == 1)

        // Penalty 2 s: nothing reaches flaky for most of it.
        #expect(try traffic(for: 1.5).allSatisfy { $0 == "good" })

        // The penalty ends; flaky (still failing) gets exactly one probe, then a 4 s penalty.
        let probing = try traffic(for: 2.0)
        #expect(probing.filter { $0 == "flaky" }.count == 1, "\(probing)")

        // Healthy again: the next probe (within the 4 s penalty plus a margin) succeeds.
        _ = try Subprocess.run("/usr/bin/env", ["curl", "-s", "http://127.0.0.1:\(ports["flaky"]!)/control/healthy"])
        let deadline = Date().addingTimeInterval(15)
        while !proxy.text.contains("Consecutive failure-accrual breaker reopened"), Date() < deadline {
            _ = try traffic(for: 0.2)
        }
        let reopened = try proxy.waitForLine(containing: "Consecutive failure-accrual breaker reopened", timeout: 1)
        #expect(reopened.contains(" INFO \(context) Consecutive failure-accrual breaker reopened"), "\(reopened)")
        let after = try traffic(for: 0.5)
        #expect(after.contains("flaky") && after.contains("good"), "\(after)")
        #expect(try endpoints("ready") == 2 && endpoints("pending") == 0)
        let metrics = try Peers.admin(admin, "/metrics").body
        let transitions = """
            outbound_http_breaker_transitions_total{\(MetricSeries.service("backend", namespace: "test", name: "web", port: 80)),\
            endpoint_addr="127.0.0.1:\(ports["flaky"]!)",transition=
            """
        #expect(Peers.metric(metrics, transitions + #""tripped"}"#) == 2)
        #expect(Peers.metric(metrics, transitions + #""reopened"}"#) == 1)
        #expect((Peers.metric(metrics, transitions + #""probing"}"#) ?? 0) >= 2)
    }
}

/// A gRPC status in the trailers counts as a failure as well.
@Suite("Failure accrual over gRPC", .serialized)
struct GRPCFailureAccrualTests {
    @Test("UNAVAILABLE in trailers trips the breaker; with no endpoint left, calls fail fast")
    func grpcTrips() throws {
        let (server, serverPort) = try Peers.grpcServer("g1")
        defer { server.stop() }
        let (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services:
                  - authority: echo.test.svc.cluster.local:8080
                    protocol: grpc
                    failureAccrual: { consecutive: { maxFailures: 2, minPenalty: 30s, maxPenalty: 60s } }
                backends:
                  - authority: echo.test.svc.cluster.local:8080
                    queue: { failfastTimeout: 300ms }
                    endpoints: [{ address: 127.0.0.1:\(serverPort) }]
                """)
        defer { proxy.stop() }
        let authority = "echo.test.svc.cluster.local:8080"
        #expect(try Peers.grpcCall(port: port, authority: authority, method: "Unary")["code"] as? String == "OK")
        for _ in 0..<2 {
            #expect(try Peers.grpcCall(port: port, authority: authority, method: "Fail")["code"] as? String == "UNAVAILABLE")
        }
        let tripped = try proxy.waitForLine(containing: "Consecutive failure-accrual breaker tripped")
        #expect(tripped.contains("service{ns=test name=echo port=8080}:endpoint{addr=127.0.0.1:\(serverPort)}: switchyard::breaker:"))
        let metrics = try Peers.admin(try Peers.adminPort(of: proxy), "/metrics").body
        #expect(Peers.metric(metrics, MetricSeries.balancerEndpoints(namespace: "test", name: "echo", port: 8080, state: "pending")) == 1)
        #expect(Peers.metric(metrics, MetricSeries.balancerEndpoints(namespace: "test", name: "echo", port: 8080, state: "ready")) == 0)
        let after = try Peers.grpcCall(port: port, authority: authority, method: "Unary")
        #expect(after["code"] as? String == "DEADLINE_EXCEEDED", "\(after)")
        #expect(after["details"] as? String == "Service echo.test: service in fail-fast")
        let failFast = try proxy.waitForLine(containing: "backend entered fail-fast")
        #expect(failFast.contains(" WARN service{ns=test name=echo port=8080}: switchyard::backend: backend entered fail-fast"), "\(failFast)")
    }
}
