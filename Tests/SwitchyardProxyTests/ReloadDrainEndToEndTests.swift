import Foundation
import SwitchyardTestSupport
import Testing

/// DESIGN.md §11 over real sockets: SIGHUP reloads the config without disturbing requests in
/// flight (a bad config is refused and the running one stays), and SIGTERM drains.
@Suite("Reload and drain end to end")
struct ReloadDrainEndToEndTests {
    let host = "web.test.svc.cluster.local"

    func config(backend: String, ports: [String: Int]) -> String {
        """
        listen: 127.0.0.1:0
        services:
          - authority: web.test.svc.cluster.local:80
            routes:
              - metadata: { group: policy.linkerd.io, kind: HTTPRoute, namespace: test, name: web-route }
                rules:
                  - matches: [{ path: { prefix: / } }]
                    backends: [{ service: \(backend).test.svc.cluster.local:80 }]
        backends:
          - authority: \(backend).test.svc.cluster.local:80
            endpoints: [{ address: 127.0.0.1:\(ports[backend]!) }]
        """
    }

    /// Starts curl for `path` in the background; its output is the response body.
    func slowRequest(port: Int, path: String) throws -> BackgroundProcess {
        try BackgroundProcess("/usr/bin/env", ["curl", "-s", "--max-time", "30", "-H", "host: \(host)", "http://127.0.0.1:\(port)\(path)"])
    }

    /// Lets the upstreams' held requests (`/hold`) answer.
    func release(_ upstreamPort: Int) throws {
        _ = try Subprocess.run("/usr/bin/env", ["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(upstreamPort)/control/release"])
    }

    /// Waits until the route backend of `backend` has dispatched `count` requests.
    func waitForRequests(admin: Int, backend: String, count: Double) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let metrics = try Peers.admin(admin, "/metrics").body
            if metrics.contains("backend_name=\"\(backend)\",backend_port=\"80\",backend_section_name=\"\"} \(Int(count))\n") { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Issue.record("\(backend) never reached \(count) requests")
    }

    @Test("SIGHUP swaps the table: in-flight requests finish on the old one, new ones route with the new, dropped series vanish")
    func reload() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web-a", "web-b"])
        defer { upstreams.stop() }
        let file = try FixturePlugin.writeFile(named: "switchyard.yaml", contents: config(backend: "web-a", ports: ports))
        let (proxy, port) = try Peers.proxy(configFile: file)
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)

        #expect(try Curl.request(port: port, host: host).body == "hello from web-a\n")
        let inFlight = try slowRequest(port: port, path: "/hold")
        defer { inFlight.stop() }
        try waitForRequests(admin: admin, backend: "web-a", count: 2)

        try config(backend: "web-b", ports: ports).write(toFile: file, atomically: true, encoding: .utf8)
        proxy.send(SIGHUP)
        _ = try proxy.waitForLine(containing: "config reloaded")
        #expect(try Curl.request(port: port, host: host).body == "hello from web-b\n")
        #expect(try (0..<5).allSatisfy { _ in try Curl.request(port: port, host: host).headers["x-upstream"] == "web-b" })
        try release(ports["web-a"]!)
        #expect(inFlight.waitForExit(timeout: 30))
        #expect(inFlight.text == "hello from web-a\n")

        let metrics = try Peers.admin(admin, "/metrics").body
        #expect(!metrics.contains("backend_name=\"web-a\""), "\(metrics)")
        #expect(metrics.contains("backend_name=\"web-b\",backend_port=\"80\",backend_section_name=\"\"} 6\n"))
        let config = try Peers.admin(admin, "/config").body
        #expect(config.contains("web-b.test.svc.cluster.local:80") && !config.contains("web-a"))
        let served = try Peers.admin(admin, "/state").body
        #expect(served.contains(#""generation":2"#) && served.contains(#""result":"served""#), "\(served)")

        // A bad config is refused, naming its path, and web-b keeps serving.
        try "listen: 127.0.0.1:0\nbogus: 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        proxy.send(SIGHUP)
        let refused = try proxy.waitForLine(containing: "config reload refused")
        #expect(refused.contains("bogus: unknown key"), "\(refused)")
        #expect(try Curl.request(port: port, host: host).headers["x-upstream"] == "web-b")
        let state = try Peers.admin(admin, "/state").body
        #expect(state.contains(#""generation":2"#) && state.contains(#""result":"refused""#) && state.contains("bogus: unknown key"), "\(state)")
    }

    @Test("SIGHUP loads a rebuilt plugin file as a new generation: traffic moves to its behaviour with no failed request; a broken build is refused and the running one serves on")
    func pluginUpgrade() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web-a", "web-b"])
        defer { upstreams.stop() }
        // The plugin the proxy loads, and the same source rebuilt to pick the last endpoint.
        let plugin = try FixturePlugin.build()
        let rebuilt = try FixturePlugin.build(["PICK_LAST"])
        let broken = try FixturePlugin.build(["WRONG_MAJOR"])
        let (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                plugins: [libStandardResolvers.so, libStandardBalancers.so, \(plugin)]
                services: [{ authority: web.test.svc.cluster.local:80 }]
                backends:
                  - authority: web.test.svc.cluster.local:80
                    balancer: { name: fixture-balancer }
                    endpoints: [{ address: 127.0.0.1:\(ports["web-a"]!) }, { address: 127.0.0.1:\(ports["web-b"]!) }]
                """)
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        #expect(try Curl.request(port: port, host: host).headers["x-upstream"] == "web-a")
        // A request routed by generation 1 is still in flight when generation 2 takes over.
        let held = try slowRequest(port: port, path: "/hold")
        defer { held.stop() }
        // Steady traffic across the upgrade: one keep-alive connection, a status and upstream a line.
        let request = ["-o", "/dev/null", "http://127.0.0.1:\(port)/slow?ms=2"]
        let traffic = try BackgroundProcess(
            "/usr/bin/env",
            ["curl", "-s", "--max-time", "60", "-H", "host: \(host)", "-w", "%{http_code} %header{x-upstream}\\n"]
                + Array(repeating: request, count: 5000).flatMap { $0 })
        defer { traffic.stop() }
        _ = try traffic.waitForLine(containing: "web-a")

        // Rebuilt as a build tool does: a new file renamed over the old one.
        #expect(rename(rebuilt, plugin) == 0)
        proxy.send(SIGHUP)
        let loaded = try proxy.waitForLine(containing: "as generation 2")
        #expect(loaded.contains("plugin fixture 0.0.1 loaded from \(plugin) as generation 2 (the file changed on disk); 2 generations are mapped"), "\(loaded)")
        _ = try proxy.waitForLine(containing: "config reloaded")
        _ = try traffic.waitForLine(containing: "web-b")
        traffic.stop()
        // Whole lines only: the stop may cut the last one short.
        let lines = traffic.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.allSatisfy { $0 == "200 web-a" || $0 == "200 web-b" }, "\(Set(lines))")
        // Before the reload every request went to web-a, after it every one to web-b.
        #expect(lines.drop { $0 == "200 web-a" }.allSatisfy { $0 == "200 web-b" }, "\(lines)")
        try release(ports["web-a"]!)
        #expect(held.waitForExit(timeout: 30))
        #expect(held.text == "hello from web-a\n")
        let plugins = try Peers.admin(admin, "/plugins").body
        #expect(plugins.contains(#""generation":2"#), "\(plugins)")

        // A build that cannot load is refused, and generation 2 keeps serving.
        #expect(rename(broken, plugin) == 0)
        proxy.send(SIGHUP)
        let refused = try proxy.waitForLine(containing: "config reload refused")
        #expect(refused.contains("plugin built for Switchyard plugin ABI 2.x"), "\(refused)")
        #expect(try Curl.request(port: port, host: host).headers["x-upstream"] == "web-b")
    }

    @Test("a reload keeps the breaker of an endpoint it keeps: a tripped endpoint stays out of rotation and pending")
    func reloadKeepsBreakers() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["good", "flaky"])
        defer { upstreams.stop() }
        func config(queueCapacity: Int) -> String {
            """
            listen: 127.0.0.1:0
            services:
              - authority: web.test.svc.cluster.local:80
                failureAccrual: { consecutive: { maxFailures: 1, minPenalty: 60s, maxPenalty: 60s, jitter: 0 } }
            backends:
              - authority: web.test.svc.cluster.local:80
                balancer: { name: round-robin }
                queue: { capacity: \(queueCapacity) }
                endpoints: [{ address: 127.0.0.1:\(ports["good"]!) }, { address: 127.0.0.1:\(ports["flaky"]!) }]
            """
        }
        let file = try FixturePlugin.writeFile(named: "switchyard.yaml", contents: config(queueCapacity: 100))
        let (proxy, port) = try Peers.proxy(configFile: file)
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        func endpoints(_ state: String) throws -> Double? {
            Peers.metric(try Peers.admin(admin, "/metrics").body, MetricSeries.balancerEndpoints(namespace: "test", name: "web", port: 80, state: state))
        }

        // Round-robin: the second request reaches flaky, whose 500 trips it for 60 s.
        _ = try (0..<2).map { _ in try Curl.request(port: port, host: host) }
        _ = try proxy.waitForLine(containing: "Consecutive failure-accrual breaker tripped")
        #expect(try endpoints("pending") == 1)

        try config(queueCapacity: 50).write(toFile: file, atomically: true, encoding: .utf8)
        proxy.send(SIGHUP)
        _ = try proxy.waitForLine(containing: "config reloaded")
        #expect(try (0..<6).map { _ in try Curl.request(port: port, host: host).headers["x-upstream"] } == Array(repeating: "good", count: 6))
        #expect(try endpoints("pending") == 1 && endpoints("ready") == 1)
    }

    @Test("SIGTERM drains: /ready turns 503, the listener closes, the request in flight still gets its response, then the process exits")
    func drain() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web-a"])
        defer { upstreams.stop() }
        let (proxy, port) = try Peers.proxy(config: config(backend: "web-a", ports: ports))
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)

        let inFlight = try slowRequest(port: port, path: "/hold")
        defer { inFlight.stop() }
        try waitForRequests(admin: admin, backend: "web-a", count: 1)
        proxy.send(SIGTERM)
        _ = try proxy.waitForLine(containing: "stopping: draining")
        // While the request is held, the admin port still answers, no longer ready.
        #expect(try Peers.admin(admin, "/ready") == (503, "not ready\n"))
        try release(ports["web-a"]!)

        #expect(inFlight.waitForExit(timeout: 30))
        #expect(inFlight.text == "hello from web-a\n")
        #expect(proxy.waitForExit(timeout: 30))
        let refused = try Subprocess.run("/usr/bin/env", ["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(port)/"])
        #expect(refused.status == 7, "curl exit \(refused.status): the listener is closed")
    }

    /// Runs `body` with a proxy (a 10 s drain timeout) in front of one upstream, web-a, and
    /// the upstream's port; both stop after.
    func withDrainableProxy(_ body: (_ proxy: BackgroundProcess, _ port: Int, _ upstreams: BackgroundProcess, _ upstreamPort: Int) throws -> Void) throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web-a"])
        defer { upstreams.stop() }
        let (proxy, port) = try Peers.proxy(config: config(backend: "web-a", ports: ports), extraArguments: ["--drain-timeout", "10s"])
        defer { proxy.stop() }
        try body(proxy, port, upstreams, ports["web-a"]!)
    }

    /// `attacks.py ATTACK PORT HOST ARGUMENTS...` against the proxy on `port`, running.
    func attacker(_ attack: String, port: Int, _ arguments: String...) throws -> BackgroundProcess {
        try BackgroundProcess("/usr/bin/env", ["python3", "-u", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/attacks.py", attack, String(port), host] + arguments)
    }

    @Test("SIGTERM under load (32 keep-alive connections): no request that reached the proxy fails")
    func drainUnderLoad() throws {
        try withDrainableProxy { proxy, port, upstreams, _ in try drainUnderLoad(proxy, port, upstreams) }
    }

    private func drainUnderLoad(_ proxy: BackgroundProcess, _ port: Int, _ upstreams: BackgroundProcess) throws {
        let load = try attacker("load", port: port, "6", "32")
        defer { load.stop() }
        // Every connection busy (two requests each reached the upstream) before the drain starts.
        let deadline = Date().addingTimeInterval(30)
        while upstreams.text.components(separatedBy: "request web-a GET /").count - 1 < 64, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        proxy.send(SIGTERM)
        #expect(proxy.waitForExit(timeout: 30))
        let line = try load.waitForLine(containing: "\"ok\"", timeout: 60)
        let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        #expect(report["ok"] as? Int ?? 0 >= 64, "the requests seen before the drain were answered: \(report)")
        #expect(report["failed"] as? Int == 0, "\(report)")
        #expect(report["refused"] as? Int == 32, "every connection ended at the closed listener: \(report)")
    }

    /// An HTTP/2 client session (`attacks.py` `mode`, one request to `path`) with a proxy in
    /// front of web-a; `drain` sends the proxy SIGTERM at its moment. Checks what every graceful
    /// shutdown of that session must show: the request served, two GOAWAYs, both NO_ERROR, the
    /// second naming stream 1, then the connection closed and the proxy gone.
    func drainHTTP2Session(_ mode: String, path: String, drain: (_ proxy: BackgroundProcess, _ client: BackgroundProcess, _ upstreams: BackgroundProcess, _ upstreamPort: Int) throws -> Void) throws {
        try withDrainableProxy { proxy, port, upstreams, upstreamPort in
            let client = try attacker(mode, port: port, path)
            defer { client.stop() }
            try drain(proxy, client, upstreams, upstreamPort)
            try expectGracefulShutdown(of: client, proxy: proxy)
        }
    }

    private func expectGracefulShutdown(of client: BackgroundProcess, proxy: BackgroundProcess) throws {
        let line = try client.waitForLine(containing: "\"status\"", timeout: 30)
        let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        #expect(report["status"] as? Int == 200, "\(report)")
        #expect(report["body"] as? String == "hello from web-a\n")
        let goaways = report["goaways"] as? [[Int]] ?? []
        #expect(goaways.count == 2 && goaways.allSatisfy { $0[0] == 0 }, "two GOAWAYs, NO_ERROR only: \(report)")
        #expect(goaways.first?[1] == 0x7FFF_FFFF, "the first GOAWAY names the largest stream id: \(report)")
        #expect(goaways.last?[1] == 1, "the last GOAWAY names stream 1: \(report)")
        #expect(report["closed"] as? Bool == true)
        #expect(proxy.waitForExit(timeout: 30))
    }

    @Test("SIGTERM with an HTTP/2 request in flight: a graceful GOAWAY, the response, then the connection closes")
    func drainHTTP2() throws {
        try drainHTTP2Session("h2-session", path: "/hold") { proxy, _, upstreams, upstreamPort in
            _ = try upstreams.waitForLine(containing: "request web-a GET /hold", timeout: 30)
            proxy.send(SIGTERM)
            _ = try proxy.waitForLine(containing: "stopping: draining")
            try release(upstreamPort)
        }
    }

    @Test("SIGTERM as an HTTP/2 client sends its first request: the request is served (RFC 9113 §6.8), not refused, and its late SETTINGS ack is no protocol error")
    func drainHTTP2Race() throws {
        try drainHTTP2Session("h2-session-race", path: "/race") { proxy, client, _, _ in
            _ = try client.waitForLine(containing: "ready", timeout: 30)
            proxy.send(SIGTERM)
        }
    }

    @Test("SIGTERM while an HTTP/2 client reads a large response slowly: all of it arrives before the connection closes (a close with bytes still unsent would cut its tail)")
    func drainSlowHTTP2Reader() throws {
        try withDrainableProxy { proxy, port, _, _ in
            let bytes = 4 << 20
            let client = try attacker("h2-session-slow", port: port, "/download?bytes=\(bytes)")
            defer { client.stop() }
            _ = try client.waitForLine(containing: "head", timeout: 30)
            proxy.send(SIGTERM)
            let line = try client.waitForLine(containing: "\"status\"", timeout: 60)
            let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            #expect(report["status"] as? Int == 200, "\(report)")
            #expect(report["length"] as? Int == bytes, "\(report)")
            #expect(report["closed"] as? Bool == true, "\(report)")
            #expect(proxy.waitForExit(timeout: 30))
        }
    }

    @Test("--watch-config reloads when the file changes, through a ConfigMap-style symlink swap; a bad version is refused")
    func watchConfig() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web-a", "web-b"])
        defer { upstreams.stop() }
        // Kubernetes' layout: switchyard.yaml -> ..data/switchyard.yaml, ..data -> <version>/.
        let volume = try Scratch.folder("volume").path
        let files = FileManager.default
        func publish(_ version: String, _ contents: String) throws {
            try files.createDirectory(atPath: "\(volume)/\(version)", withIntermediateDirectories: true)
            try contents.write(toFile: "\(volume)/\(version)/switchyard.yaml", atomically: true, encoding: .utf8)
            try files.createSymbolicLink(atPath: "\(volume)/..data_tmp", withDestinationPath: version)
            #expect(rename("\(volume)/..data_tmp", "\(volume)/..data") == 0)  // atomic, as the kubelet swaps
        }
        try publish("v1", config(backend: "web-a", ports: ports))
        try files.createSymbolicLink(atPath: "\(volume)/switchyard.yaml", withDestinationPath: "..data/switchyard.yaml")

        let (proxy, port) = try Peers.proxy(configFile: "\(volume)/switchyard.yaml", extraArguments: ["--watch-config"])
        defer { proxy.stop() }
        #expect(try Curl.request(port: port, host: host).headers["x-upstream"] == "web-a")

        try publish("v2", config(backend: "web-b", ports: ports))
        _ = try proxy.waitForLine(containing: "config reloaded", timeout: 30)
        #expect(try Curl.request(port: port, host: host).headers["x-upstream"] == "web-b")

        try publish("v3", "listen: 127.0.0.1:0\nbogus: 1\n")
        let refused = try proxy.waitForLine(containing: "config reload refused", timeout: 30)
        #expect(refused.contains("bogus: unknown key"), "\(refused)")
        #expect(try Curl.request(port: port, host: host).headers["x-upstream"] == "web-b")
    }
}
