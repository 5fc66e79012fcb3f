import Foundation
import SwitchyardTestSupport
import Testing

/// The breaker over real sockets through an HTTP/2 upstream: a gRPC status in the trailers
/// counts as a failure (the trip/probe/reopen cycle runs in virtual time in `DataPathTests`).
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
