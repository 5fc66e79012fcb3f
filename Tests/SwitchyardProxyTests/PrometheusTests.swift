import Foundation
import SwitchyardTestSupport
import Testing

/// The metrics as Prometheus itself sees them: the real server scrapes the admin port, and the
/// example rules pass promtool's check and their unit tests.
@Suite("Prometheus")
struct PrometheusTests {
    static let examples = "\(BuildProducts.repositoryRoot)/examples/prometheus"

    @Test("examples/prometheus/rules.yml passes promtool check rules and its unit tests")
    func rules() throws {
        let check = try Subprocess.run("/usr/bin/env", ["promtool", "check", "rules", "\(Self.examples)/rules.yml"])
        #expect(check.status == 0, "\(check.standardOutput) \(check.standardError)")
        let test = try Subprocess.run("/bin/sh", ["-c", "cd '\(Self.examples)' && promtool test rules tests.yml"])
        #expect(test.status == 0, "\(test.standardOutput) \(test.standardError)")
    }

    @Test("a real Prometheus scrapes the admin port; the route-backend counter reads back through its query API")
    func scrape() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web"])
        defer { upstreams.stop() }
        let (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services: [{ authority: web.test.svc.cluster.local:80 }]
                backends: [{ authority: web.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(ports["web"]!) }] }]
                """)
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        for _ in 0..<5 { #expect(try Curl.request(port: port, host: "web.test.svc.cluster.local").status == 200) }

        let prometheusPort = try Peers.freePort()
        let config = try FixturePlugin.writeFile(
            named: "prometheus.yml",
            contents: """
                global: { scrape_interval: 1s, evaluation_interval: 1s }
                rule_files: [\(Self.examples)/rules.yml]
                scrape_configs:
                  - job_name: switchyard
                    static_configs: [{ targets: ["127.0.0.1:\(admin)"] }]
                """)
        let storage = URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent("tsdb").path
        let prometheus = try BackgroundProcess(
            "/usr/bin/env",
            [
                "prometheus", "--config.file=\(config)", "--storage.tsdb.path=\(storage)",
                "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ])
        defer { prometheus.stop() }

        // Prometheus's first scrape comes within a second or two of its start: wait for it.
        let query = "sum(outbound_http_route_backend_requests_total{parent_name=\"web\",backend_name=\"web\"})"
        var value: String?
        let deadline = Date().addingTimeInterval(60)
        while value != "5", Date() < deadline, prometheus.isRunning {
            value = try? Self.query(query, port: prometheusPort)
            if value != "5" { Thread.sleep(forTimeInterval: 0.2) }
        }
        #expect(value == "5", "Prometheus answered \(value ?? "nothing"): \(prometheus.text.suffix(2000))")
    }

    /// The value of an instant query's single sample, through Prometheus's HTTP API.
    static func query(_ query: String, port: Int) throws -> String? {
        let result = try Subprocess.run(
            "/usr/bin/env", ["curl", "-s", "--max-time", "5", "-G", "http://127.0.0.1:\(port)/api/v1/query", "--data-urlencode", "query=\(query)"])
        guard let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any],
            let data = object["data"] as? [String: Any], let samples = data["result"] as? [[String: Any]],
            let sample = samples.first?["value"] as? [Any]
        else { return nil }
        return sample.last as? String
    }
}
