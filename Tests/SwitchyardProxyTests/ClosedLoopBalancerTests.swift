import Foundation
import SwitchyardTestSupport
import Testing

/// A balancer that learns from outcomes (ABI 1.1 `observe`), over real sockets: against an
/// endpoint that answers 500 at once beside a healthy, slower one, the C example `error-ramp`
/// stops sending it requests, where the latency-only p2c-peak-ewma keeps favouring it.
@Suite("Closed-loop balancer")
struct ClosedLoopBalancerTests {
    @Test("error-ramp sends a fast-failing endpoint a handful of requests; p2c-peak-ewma sends it most of them")
    func errorRampBeatsLatencyOnly() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["flaky", "good"])
        defer { upstreams.stop() }
        let endpoints = "[{ address: 127.0.0.1:\(ports["flaky"]!) }, { address: 127.0.0.1:\(ports["good"]!) }]"
        let (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                plugins: [libStandardResolvers.so, libStandardBalancers.so, libExampleErrorRampBalancer.so]
                services:
                  - authority: latency.test.svc.cluster.local:80
                  - authority: outcome.test.svc.cluster.local:80
                backends:
                  - authority: latency.test.svc.cluster.local:80
                    balancer: { name: p2c-peak-ewma, config: { defaultRtt: 1ms, decay: 1s } }
                    endpoints: \(endpoints)
                  - authority: outcome.test.svc.cluster.local:80
                    balancer: { name: error-ramp, config: { minRequests: 5, ejectMs: 60000, defaultRttMs: 1, decayMs: 1000 } }
                    endpoints: \(endpoints)
                """)
        defer { proxy.stop() }
        /// The statuses of `count` keep-alive requests in a row (one curl, one connection); the
        /// healthy endpoint takes 5 ms, the flaky one answers 500 at once. Both backends model
        /// load alike (a 1 ms default RTT): the instant 500s look cheapest to both.
        func statuses(_ host: String, count: Int) throws -> [String] {
            let request = ["-o", "/dev/null", "http://127.0.0.1:\(port)/slow?ms=5"]
            let result = try Subprocess.run(
                "/usr/bin/env",
                ["curl", "-s", "--max-time", "60", "-H", "host: \(host)", "-w", "%{http_code}\\n"] + Array(repeating: request, count: count).flatMap { $0 })
            return result.standardOutput.split(separator: "\n").map(String.init)
        }
        let latencyOnly = try statuses("latency.test.svc.cluster.local", count: 100)
        let outcomeAware = try statuses("outcome.test.svc.cluster.local", count: 100)
        #expect(latencyOnly.count == 100 && outcomeAware.count == 100, "\(latencyOnly) \(outcomeAware)")
        let latencyFailures = latencyOnly.count { $0 == "500" }
        let outcomeFailures = outcomeAware.count { $0 == "500" }
        // p2c compares the two endpoints on every pick and the instant 500s look cheapest; error-ramp
        // ejects the flaky one after its fifth failure (a sample or two more may be in flight).
        #expect(latencyFailures >= 50, "p2c-peak-ewma: \(latencyFailures) of 100 failed")
        #expect(outcomeFailures <= 8, "error-ramp: \(outcomeFailures) of 100 failed")
        #expect(outcomeAware.allSatisfy { $0 == "200" || $0 == "500" })
    }
}
