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

    /// flaky's breaker transitions of `kind` (tripped, probing, reopened), from `/metrics`.
    func transitions(_ kind: String) throws -> Double {
        let series = """
            outbound_http_breaker_transitions_total{\(MetricSeries.service("backend", namespace: "test", name: "web", port: 80)),\
            endpoint_addr="127.0.0.1:\(ports["flaky"]!)",transition="\(kind)"}
            """
        return Peers.metric(try Peers.admin(admin, "/metrics").body, series) ?? 0
    }

    func probes() throws -> Double { try transitions("probing") }

    /// Requests the flaky upstream has received (it prints a line for each).
    func flakyRequests() -> Int {
        upstreams.text.split(separator: "\n").filter { $0.hasPrefix("request flaky ") }.count
    }

    /// Whether `condition` holds within 5 s (the upstream's lines reach the test through a pipe).
    func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while !condition() {
            guard Date() < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
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

        // While tripped, flaky gets nothing but its probes: one request per `probing`
        // transition (the penalty ends, one probe fails, a longer penalty follows). Counted
        // from what flaky itself received, so a slow machine cannot blur a time window.
        #expect(eventually { self.flakyRequests() == 3 })
        let flakyBefore = flakyRequests()
        let deadline = Date().addingTimeInterval(20)
        while try probes() < 1, Date() < deadline {
            _ = try traffic(for: 0.2)
        }
        _ = try traffic(for: 0.5)  // more traffic after the probe: still nothing else for flaky
        #expect(try probes() >= 1)
        let probed = Int(try probes())
        #expect(eventually { self.flakyRequests() - flakyBefore == probed }, "\(probed) probes: \(upstreams.text)")

        // Healthy again: the next probe (within the 4 s penalty plus a margin) succeeds.
        _ = try Subprocess.run("/usr/bin/env", ["curl", "-s", "http://127.0.0.1:\(ports["flaky"]!)/control/healthy"])
        let reopenDeadline = Date().addingTimeInterval(15)
        while !proxy.text.contains("Consecutive failure-accrual breaker reopened"), Date() < reopenDeadline {
            _ = try traffic(for: 0.2)
        }
        let reopened = try proxy.waitForLine(containing: "Consecutive failure-accrual breaker reopened", timeout: 1)
        #expect(reopened.contains(" INFO \(context) Consecutive failure-accrual breaker reopened"), "\(reopened)")
        let after = try traffic(for: 0.5)
        #expect(after.contains("flaky") && after.contains("good"), "\(after)")
        #expect(try endpoints("ready") == 2 && endpoints("pending") == 0)
        #expect(try transitions("tripped") == 2)
        #expect(try transitions("reopened") == 1)
        #expect(try probes() >= 2)
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
