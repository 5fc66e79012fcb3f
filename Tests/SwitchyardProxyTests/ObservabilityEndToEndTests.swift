import Foundation
import SwitchyardTestSupport
import Testing

/// The admin port over real sockets: §8 metrics with their exact labels, checked by
/// `promtool`, and the other admin endpoints.
@Suite("Admin port and metrics end to end", .serialized)
final class AdminEndToEndTests {
    let upstreams: BackgroundProcess
    let proxy: BackgroundProcess
    let port: Int
    let admin: Int
    let host = "web.test.svc.cluster.local"

    init() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["a"])
        self.upstreams = upstreams
        (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services:
                  - authority: web.test.svc.cluster.local:80
                    routes:
                      - metadata: { group: policy.linkerd.io, kind: HTTPRoute, namespace: test, name: web-route }
                        rules:
                          - matches: [{ path: { prefix: /broken } }]
                            backends: [{ service: broken.test.svc.cluster.local:80 }]
                          - matches: [{ path: { prefix: / } }]
                            backends: [{ service: web.test.svc.cluster.local:80 }]
                backends:
                  - authority: web.test.svc.cluster.local:80
                    endpoints: [{ address: 127.0.0.1:\(ports["a"]!) }]
                  - authority: broken.test.svc.cluster.local:80
                    endpoints: [{ address: 127.0.0.1:1 }]
                """)
        admin = try Peers.adminPort(of: proxy)
    }

    deinit {
        proxy.stop()
        upstreams.stop()
    }

    /// The 16 labels of DESIGN.md §8 for a route backend of web-route.
    func routeBackend(_ backend: String) -> String {
        """
        \(MetricSeries.service("parent", namespace: "test", name: "web", port: 80)),\
        route_group="policy.linkerd.io",route_kind="HTTPRoute",route_namespace="test",route_name="web-route",\
        \(MetricSeries.service("backend", namespace: "test", name: backend, port: 80))
        """
    }

    @Test("after N requests the route backend's counter line reads N, statuses and errors are counted, promtool accepts it")
    func routeBackendCounters() throws {
        let before = try Peers.admin(admin, "/metrics")
        #expect(before.status == 200)
        // Made when the config loaded, before any request.
        #expect(before.body.contains("outbound_http_route_backend_requests_total{\(routeBackend("web"))} 0\n"), "\(before.body)")

        for _ in 0..<7 { #expect(try Curl.request(port: port, host: host, path: "/x").status == 200) }
        for _ in 0..<2 { #expect(try Curl.request(port: port, host: host, path: "/broken").status == 502) }

        let metrics = try Peers.admin(admin, "/metrics").body
        #expect(metrics.contains("outbound_http_route_backend_requests_total{\(routeBackend("web"))} 7\n"), "\(metrics)")
        #expect(metrics.contains("outbound_http_route_backend_requests_total{\(routeBackend("broken"))} 2\n"))
        #expect(metrics.contains(#"outbound_http_route_backend_response_statuses_total{\#(routeBackend("web")),http_status="200",error=""} 7"#))
        #expect(metrics.contains(#"outbound_http_route_backend_response_statuses_total{\#(routeBackend("broken")),http_status="",error="BAD_GATEWAY"} 2"#))
        #expect(metrics.contains("# TYPE outbound_http_balancer_endpoints gauge"))
        #expect(metrics.contains(#"switchyard_plugin_faults_total{plugin="standard-balancers",kind="balancer",implementation="p2c-peak-ewma"} 0"#))

        let file = try FixturePlugin.writeFile(named: "metrics.txt", contents: metrics)
        let check = try Subprocess.run("/bin/sh", ["-c", "promtool check metrics < '\(file)'"])
        #expect(check.status == 0, "promtool: \(check.standardOutput) \(check.standardError)")
    }

    @Test("/live, /ready, /plugins and /config answer; unknown paths are 404 and wrong methods 405")
    func endpoints() throws {
        #expect(try Peers.admin(admin, "/live") == (200, "live\n"))
        #expect(try Peers.admin(admin, "/ready") == (200, "ready\n"))
        #expect(try Peers.admin(admin, "/nope").status == 404)
        #expect(try Peers.admin(admin, "/metrics", method: "POST").status == 405)
        // A page rebound to another name reads nothing a browser could leak; probes and scrapers answer.
        for path in ["/", "/state", "/config", "/plugins"] { #expect(try Peers.admin(admin, path, host: "evil.example").status == 403, "\(path)") }
        #expect(try Peers.admin(admin, "/log-level", method: "PUT", body: "debug", host: "evil.example").status == 403)
        #expect(try Peers.admin(admin, "/metrics", host: "switchyard.internal:4191").status == 200)
        #expect(try Peers.admin(admin, "/state", host: "localhost:\(admin)").status == 200)

        let plugins = try JSONSerialization.jsonObject(with: Data(try Peers.admin(admin, "/plugins").body.utf8)) as! [String: Any]
        let list = plugins["plugins"] as! [[String: Any]]
        let balancers = try #require(list.first { $0["name"] as? String == "standard-balancers" })
        #expect(balancers["abi"] as? String == "1.2" && balancers["generation"] as? Int == 1)
        #expect((balancers["file"] as? String)?.hasSuffix("libStandardBalancers.so") == true)
        let p2c = try #require((balancers["balancers"] as! [[String: Any]]).first { $0["name"] as? String == "p2c-peak-ewma" })
        #expect(p2c["faults"] as? Int == 0)

        let config = try JSONSerialization.jsonObject(with: Data(try Peers.admin(admin, "/config").body.utf8)) as! [String: Any]
        let service = (config["services"] as! [[String: Any]])[0]
        #expect(service["authority"] as? String == "web.test.svc.cluster.local:80")
        let route = (service["routes"] as! [[String: Any]])[0]
        #expect((route["metadata"] as! [String: Any])["name"] as? String == "web-route")
        let routeTimeouts = try #require(route["timeouts"] as? [String: Any])
        #expect(routeTimeouts["idle"] as? String == "1m")
        #expect(routeTimeouts["request"] is NSNull)
        #expect((config["limits"] as? [String: Any])?["connections"] as? Int == 10_000)
        #expect((config["timeouts"] as? [String: Any])?["keepAlive"] as? String == "1m")
        #expect((config["builtInLimits"] as? [String: Any])?["connectTimeout"] as? String == "2s")
        let backends = config["backends"] as! [[String: Any]]
        #expect((backends[0]["balancer"] as! [String: Any])["name"] as? String == "p2c-peak-ewma")
    }

    @Test("/log-level reads and changes the level at run time; a bad level is 400")
    func logLevel() throws {
        #expect(try Peers.admin(admin, "/log-level") == (200, "info\n"))
        #expect(try Peers.admin(admin, "/log-level", method: "PUT", body: "bogus").status == 400)
        #expect(try Peers.admin(admin, "/log-level", method: "PUT", body: "warning") == (200, "warning\n"))
        _ = try proxy.waitForLine(containing: "log level changed from info to warning")
        #expect(try Peers.admin(admin, "/log-level") == (200, "warning\n"))
        // At warning, the INFO line of a stop is not written.
        proxy.stop()
        #expect(!proxy.text.contains("stopping"))
    }
}

/// gRPC route backends count under their own names, with `grpc_status`.
@Suite("gRPC metrics end to end", .serialized)
struct GRPCMetricsTests {
    @Test("a gRPC call counts in outbound_grpc_route_backend_* with grpc_status")
    func grpcCounters() throws {
        let (server, serverPort) = try Peers.grpcServer("g1")
        defer { server.stop() }
        let (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services:
                  - authority: echo.test.svc.cluster.local:8080
                    protocol: grpc
                backends:
                  - authority: echo.test.svc.cluster.local:8080
                    endpoints: [{ address: 127.0.0.1:\(serverPort) }]
                """)
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        let authority = "echo.test.svc.cluster.local:8080"
        #expect(try Peers.grpcCall(port: port, authority: authority, method: "Unary")["code"] as? String == "OK")
        #expect(try Peers.grpcCall(port: port, authority: authority, method: "Fail")["code"] as? String == "UNAVAILABLE")
        let labels = """
            \(MetricSeries.service("parent", namespace: "test", name: "echo", port: 8080)),\
            route_group="",route_kind="default",route_namespace="",route_name="grpc",\
            \(MetricSeries.service("backend", namespace: "test", name: "echo", port: 8080))
            """
        let metrics = try Peers.admin(admin, "/metrics").body
        #expect(metrics.contains("outbound_grpc_route_backend_requests_total{\(labels)} 2\n"), "\(metrics)")
        #expect(metrics.contains(#"outbound_grpc_route_backend_response_statuses_total{\#(labels),grpc_status="0",error=""} 1"#))
        #expect(metrics.contains(#"outbound_grpc_route_backend_response_statuses_total{\#(labels),grpc_status="14",error=""} 1"#))
    }
}

/// Log lines as DESIGN.md §9 gives them.
@Suite("Log format")
struct LogFormatTests {
    @Test("--log-format json writes one JSON object per line with timestamp, level, target and message")
    func json() throws {
        let (proxy, _) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services: [{ authority: web.test.svc.cluster.local:80 }]
                backends: [{ authority: web.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:1 }] }]
                """, extraArguments: ["--log-format", "json"])
        defer { proxy.stop() }
        let line = try proxy.waitForLine(containing: "proxy listening on")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "INFO")
        #expect(object["target"] as? String == "switchyard")
        #expect((object["message"] as? String)?.hasPrefix("proxy listening on 127.0.0.1:") == true)
        #expect((object["timestamp"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    }

    @Test("at debug, a failed connect is logged inside its service and endpoint")
    func debugConnectFailure() throws {
        let (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services: [{ authority: web.test.svc.cluster.local:80 }]
                backends: [{ authority: web.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:1 }] }]
                """, extraArguments: ["--log-level", "debug"])
        defer { proxy.stop() }
        #expect(try Curl.request(port: port, host: "web.test.svc.cluster.local", path: "/").status == 502)
        let line = try proxy.waitForLine(containing: "connect failed")
        #expect(line.contains("DEBUG service{ns=test name=web port=80}:endpoint{addr=127.0.0.1:1}: switchyard::backend: connect failed: "), "\(line)")
    }
}
