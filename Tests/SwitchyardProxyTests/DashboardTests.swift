import Foundation
import SwitchyardTestSupport
import Testing

/// The admin port's dashboard in a real browser (headless Chromium driven by selenium,
/// `Tests/Fixtures/dashboard.py`): it lists every endpoint, and shows one pending within a few
/// seconds of its breaker tripping. `SWITCHYARD_DASHBOARD_SCREENSHOT=PATH` keeps the screenshot
/// (`docs/dashboard.png` is one).
@Suite("Dashboard")
struct DashboardTests {
    @Test("the page lists both endpoints and shows the flaky one pending soon after its breaker trips")
    func breakerTrips() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["good", "flaky"])
        defer { upstreams.stop() }
        let host = "web.test.svc.cluster.local"
        let (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services:
                  - authority: \(host):80
                    failureAccrual: { consecutive: { maxFailures: 1, minPenalty: 60s, maxPenalty: 60s, jitter: 0 } }
                backends:
                  - authority: \(host):80
                    balancer: { name: round-robin }
                    endpoints: [{ address: 127.0.0.1:\(ports["good"]!) }, { address: 127.0.0.1:\(ports["flaky"]!) }]
                """)
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        let screenshot =
            ProcessInfo.processInfo.environment["SWITCHYARD_DASHBOARD_SCREENSHOT"]
            ?? Scratch.path("dashboard") + ".png"
        let flaky = "127.0.0.1:\(ports["flaky"]!)"
        let result = try Subprocess.run(
            "/usr/bin/env",
            ["python3", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/dashboard.py", String(admin), String(port), host, flaky, screenshot],
            timeout: 120)
        let line = result.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        #expect(report["ok"] as? Bool == true, "\(result.standardOutput) \(result.standardError.suffix(3000))")
        #expect(report["endpoints"] as? [String] == ["127.0.0.1:\(ports["flaky"]!) ready", "127.0.0.1:\(ports["good"]!) ready"].sorted(), "\(report)")
        #expect((report["pendingAfter"] as? Double ?? 99) < 5, "\(report)")
        #expect((report["events"] as? [String])?.contains { $0.contains(flaky) && $0.contains("tripped") } == true, "\(report)")
        #expect(FileManager.default.fileExists(atPath: screenshot))
    }
}
