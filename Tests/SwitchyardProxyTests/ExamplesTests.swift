import Foundation
import SwitchyardTestSupport
import Testing

/// The example configs a user starts from: each checks, and carries traffic as it says.
@Suite("Examples", .serialized)
struct ExamplesTests {
    func example(_ name: String) throws -> String {
        try String(contentsOfFile: "\(BuildProducts.repositoryRoot)/examples/\(name)", encoding: .utf8)
    }

    @Test("every example passes switchyard check", arguments: ["quickstart.yaml", "canary-split.yaml", "grpc.yaml", "discovery.yaml"])
    func checks(name: String) throws {
        let result = try Subprocess.run(BuildProducts.switchyard, ["check", "--config", "\(BuildProducts.repositoryRoot)/examples/\(name)"])
        #expect(result.status == 0, "\(result.standardError)")
    }

    @Test("examples/kubernetes: the ConfigMap's config checks; the Deployment watches it and probes /live and /ready on the admin port")
    func kubernetes() throws {
        let manifest = try example("kubernetes/switchyard.yaml")
        let documents = manifest.components(separatedBy: "\n---\n")
        #expect(documents.map { $0.split(separator: "\n").first { $0.hasPrefix("kind: ") } } == ["kind: ConfigMap", "kind: Deployment", "kind: Service"])
        // The config is the ConfigMap's block scalar, indented four spaces.
        let lines = documents[0].split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0 == "  switchyard.yaml: |" })
        let config = lines[(start + 1)...].prefix { $0.hasPrefix("    ") || $0.isEmpty }.map { $0.dropFirst(4) }.joined(separator: "\n")
        let file = try FixturePlugin.writeFile(named: "switchyard.yaml", contents: config)
        let check = try Subprocess.run(BuildProducts.switchyard, ["check", "--config", file])
        #expect(check.status == 0, "\(check.standardError)")
        #expect(config.contains("admin: 0.0.0.0:4191"))
        #expect(documents[1].contains(#""--config", "/etc/switchyard/switchyard.yaml", "--watch-config""#))
        #expect(documents[1].contains("httpGet: { path: /live, port: admin }") && documents[1].contains("httpGet: { path: /ready, port: admin }"))
        #expect(documents[1].contains("mountPath: /etc/switchyard"))
    }

    @Test("examples/quickstart.yaml is the config switchyard demo runs")
    func quickstartIsTheDemo() throws {
        let result = try Subprocess.run(BuildProducts.switchyard, ["demo", "--print-config"])
        #expect(result.standardOutput == (try example("quickstart.yaml")))
    }

    @Test("switchyard demo serves the 90/10 split from its own upstreams, and stops on SIGTERM")
    func demo() throws {
        let demo = try BackgroundProcess(BuildProducts.switchyard, ["demo"])
        defer { demo.stop() }
        _ = try demo.waitForLine(containing: "Ctrl-C stops")
        let result = try Subprocess.run(
            "/usr/bin/env", ["curl", "-s", "--max-time", "60", "-H", "host: web.demo.svc.cluster.local", "http://127.0.0.1:4140/[1-400]"])
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 400)
        let v2 = lines.filter { $0 == "hello from web-v2-0" }.count
        #expect(lines.allSatisfy { $0.hasPrefix("hello from web-v") })
        #expect(v2 > 15 && v2 < 70, "web-v2 got \(v2) of 400")
    }

    /// Rewrites an example's fixed upstream ports to the test's ephemeral ones.
    func rewrite(_ yaml: String, _ ports: [Int: Int]) -> String {
        var text = yaml.replacingOccurrences(of: "listen: 127.0.0.1:4140", with: "listen: 127.0.0.1:0")
        for (from, to) in ports { text = text.replacingOccurrences(of: "127.0.0.1:\(from)", with: "127.0.0.1:\(to)") }
        return text
    }

    @Test("canary-split routes canaries to v2, splits the rest, answers /admin with 403")
    func canarySplit() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["v1a", "v1b", "v2"])
        defer { upstreams.stop() }
        let (proxy, port) = try Peers.proxy(
            config: rewrite(try example("canary-split.yaml"), [18081: ports["v1a"]!, 18082: ports["v1b"]!, 18083: ports["v2"]!]))
        defer { proxy.stop() }
        let host = "shop.prod.svc.cluster.local"
        for _ in 0..<5 {
            #expect(try Curl.request(port: port, host: host, path: "/cart", headers: ["x-canary: 1"]).headers["x-upstream"] == "v2")
            #expect(try Curl.request(port: port, host: host, path: "/healthz").headers["x-upstream"]?.hasPrefix("v1") == true)
        }
        let admin = try Curl.request(port: port, host: host, path: "/admin/users")
        #expect(admin.status == 403)
        #expect(admin.headers["switchyard-proxy-error"] == "admin is not exposed here")
        let split = try Subprocess.run("/usr/bin/env", ["curl", "-s", "--max-time", "60", "-H", "host: \(host)", "http://127.0.0.1:\(port)/p/[1-400]"])
        let toV2 = split.standardOutput.split(separator: "\n").filter { $0 == "hello from v2" }.count
        #expect(toV2 < 50, "v2 got \(toV2) of 400 (5% expected)")
    }

    @Test("grpc.yaml routes SayHello to stable endpoints and answers the retired method UNAVAILABLE")
    func grpc() throws {
        let (stable, stablePort) = try Peers.grpcServer("stable")
        defer { stable.stop() }
        let (stable2, stable2Port) = try Peers.grpcServer("stable")
        defer { stable2.stop() }
        let (beta, betaPort) = try Peers.grpcServer("beta")
        defer { beta.stop() }
        // The test peer serves test.Echo; route that service the way the example routes helloworld.Greeter.
        let yaml = rewrite(try example("grpc.yaml"), [50061: stablePort, 50062: stable2Port, 50063: betaPort])
            .replacingOccurrences(of: "helloworld.Greeter", with: "test.Echo")
            .replacingOccurrences(of: "method: SayHelloOld", with: "method: Stream").replacingOccurrences(of: "method: SayHello", with: "method: Unary")
        let (proxy, port) = try Peers.proxy(config: yaml)
        defer { proxy.stop() }
        let authority = "greeter.prod.svc.cluster.local:50051"
        let hello = try Peers.grpcCall(port: port, authority: authority, method: "Unary", argument: "x")
        #expect(hello["message"] as? String == "unary from stable: x")
        let other = try Peers.grpcCall(port: port, authority: authority, method: "Fail")
        #expect(other["details"] as? String == "beta is unavailable")
        let retired = try Peers.grpcCall(port: port, authority: authority, method: "Stream")
        #expect(retired["code"] as? String == "UNAVAILABLE")
        #expect(retired["details"] as? String == "default fail: SayHelloOld was retired; call SayHello")
    }
}
