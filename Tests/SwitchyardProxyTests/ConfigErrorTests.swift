import SwitchyardProxy
import SwitchyardTestSupport
import Testing

/// Bad configs are refused with the path of the problem (DESIGN.md §10).
@Suite("Config errors")
struct ConfigErrorTests {
    static let backend = "backends:\n  - { authority: web.prod.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:18081 }] }\n"

    static let cases: [(yaml: String, error: String)] = [
        ("listen: 127.0.0.1:4140\nbogus: 1\n", "bogus: unknown key (expected one of: admin, listen, plugins, resolvers, services, backends, limits, timeouts, accessLog)"),
        ("listen: localhost\n", "listen: 'localhost' is not host:port (missing port)"),
        ("listen: 127.0.0.1:99999\n", "listen: '127.0.0.1:99999' is not host:port (port must be 0-65535)"),
        (backend.replacingOccurrences(of: "127.0.0.1:18081", with: "127.0.0.1"), "backends[0].endpoints[0].address: '127.0.0.1' is not host:port (missing port)"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - backends: [{ service: web.prod.svc.cluster.local:80, weight: -1 }]\n",
         "services[0].routes[0].rules[0].backends[0].weight: must be between 0 and 1000000"),
        ("services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - backends: [{ service: other.prod.svc.cluster.local:80 }]\n",
         "services[0].routes[0].rules[0].backends[0].service: backend other.prod.svc.cluster.local:80 is not defined under backends"),
        ("services:\n  - authority: lonely.prod.svc.cluster.local:80\n",
         "services[0]: has no routes, so its default route sends to lonely.prod.svc.cluster.local:80, but no backend with that authority is defined"),
        (backend.replacingOccurrences(of: "endpoints:", with: "queue: { failfastTimeout: soon }, endpoints:"),
         "backends[0].queue.failfastTimeout: expected a duration such as 250ms, 3s or 1m"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    protocol: http3\n", "services[0].protocol: must be one of http1, http2, grpc"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - matches: [{ path: { prefix: api } }]\n            backends: []\n",
         "services[0].routes[0].rules[0].matches[0].path.prefix: must start with '/'"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - matches: [{ path: { regex: \"(\" } }]\n            backends: []\n",
         "services[0].routes[0].rules[0].matches[0].path.regex: invalid regular expression"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    failureAccrual: { consecutive: { minPenalty: 2m, maxPenalty: 1m } }\n",
         "services[0].failureAccrual.consecutive.minPenalty: must not exceed maxPenalty (1m)"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    failureAccrual: { consecutive: { jitter: 101 } }\n",
         "services[0].failureAccrual.consecutive.jitter: must be between 0.0 and 100.0"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    failureAccrual: { consecutive: { maxFailures: 0 } }\n",
         "services[0].failureAccrual.consecutive.maxFailures: must be between 1 and 4294967295"),
        (backend + backend.dropFirst("backends:\n".count), "backends[1].authority: backend web.prod.svc.cluster.local:80 is defined twice"),
        ("services: [\n", "not valid YAML"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - filters: [{ requestHeaderModifier: { set: { x-a: \"1\\r\\nx-injected: 2\" } } }]\n            backends: []\n",
         "services[0].routes[0].rules[0].filters[0].requestHeaderModifier.set.x-a: must not contain control characters (CR, LF, NUL, ...)"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - filters: [{ requestHeaderModifier: { add: { \"bad name\": \"1\" } } }]\n            backends: []\n",
         "services[0].routes[0].rules[0].filters[0].requestHeaderModifier.add: 'bad name' is not a valid header name"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - filters: [{ requestHeaderModifier: { remove: [\"x:y\"] } }]\n            backends: []\n",
         "services[0].routes[0].rules[0].filters[0].requestHeaderModifier.remove[0]: 'x:y' is not a valid header name"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - filters: [{ failureInjector: { message: \"oops\\u0000\" } }]\n            backends: []\n",
         "services[0].routes[0].rules[0].filters[0].failureInjector.message: must not contain control characters"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - filters: [{ requestRedirect: { hostname: evil.org/x } }]\n            backends: []\n",
         "services[0].routes[0].rules[0].filters[0].requestRedirect.hostname: 'evil.org/x' is not a host name or address"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - filters: [{ requestRedirect: { path: \"/a b\" } }]\n            backends: []\n",
         "services[0].routes[0].rules[0].filters[0].requestRedirect.path: must not contain spaces or control characters"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    routes:\n      - rules:\n          - backends: [{ fail: { message: \"down\\r\\nx: y\" } }]\n",
         "services[0].routes[0].rules[0].backends[0].fail.message: must not contain control characters"),
        ("limits: { connections: 0 }\n", "limits.connections: must be between 1 and 1000000"),
        ("timeouts: { keepAlive: 0s }\n", "timeouts.keepAlive: must be greater than 0s"),
        ("accessLog: { format: json }\n", "accessLog.path: missing (required)"),
        ("accessLog: { path: stderr, format: xml }\n", "accessLog.format: must be text or json, got 'xml'"),
        ("timeouts: { requestHeader: soon }\n", "timeouts.requestHeader: expected a duration such as 250ms, 3s or 1m"),
        (backend + "services:\n  - authority: web.prod.svc.cluster.local:80\n    timeouts: { response: 1s, total: 2s }\n",
         "services[0].timeouts.total: unknown key (expected one of: request, response, idle)"),
    ]

    @Test("each bad config names its path and the problem", arguments: cases)
    func refused(yaml: String, expected: String) {
        do {
            _ = try ProxyConfig(yaml: yaml)
            Issue.record("accepted:\n\(yaml)")
        } catch {
            #expect(error.description.hasPrefix(expected), "got: \(error)")
        }
    }

    @Test("nested aliases that expand past maximumNodes are refused before anything walks them")
    func billionLaughs() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1..<10 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        let yaml = "x-anchors:\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\n"
        #expect(throws: ConfigError.self) { try ProxyConfig(yaml: yaml) }
        do {
            _ = try ProxyConfig(yaml: yaml)
        } catch {
            #expect(error.description.contains("more than 500000 YAML nodes"), "\(error)")
        }
    }

    @Test("YAML nested past the parser's depth is refused with a short message, whatever the line's length")
    func deepNesting() {
        let depth = 100_000
        let yaml = "x: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
        do {
            _ = try ProxyConfig(yaml: yaml)
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix("not valid YAML"), "\(error.description.prefix(200))")
            #expect(error.description.count < 600, "\(error.description.count) characters")
        }
    }

    @Test("a config past maximumFileSize is refused")
    func oversizedFile() {
        let yaml = "# " + String(repeating: "x", count: ProxyConfig.maximumFileSize) + "\n"
        #expect(throws: ConfigError.self) { try ProxyConfig(yaml: yaml) }
    }

    @Test("the duplicate-endpoint check names the second of 10000 endpoints")
    func manyEndpoints() {
        var endpoints = (0..<10_000).map { "      - { address: 10.0.\($0 / 250).\($0 % 250):80 }" }
        endpoints.append("      - { address: 10.0.0.7:80 }")
        let yaml = "backends:\n  - authority: web.prod.svc.cluster.local:80\n    endpoints:\n" + endpoints.joined(separator: "\n") + "\n"
        do {
            _ = try ProxyConfig(yaml: yaml)
            Issue.record("accepted a duplicate endpoint")
        } catch {
            #expect(error.description == "backends[0].endpoints[10000]: duplicate endpoint address 10.0.0.7:80")
        }
    }

    @Test("defaults fill what is left out")
    func defaults() throws {
        let config = try ProxyConfig(yaml: Self.backend + "services:\n  - authority: web.prod.svc.cluster.local\n")
        #expect(config.admin.description == "127.0.0.1:4191")
        #expect(config.listen.description == "127.0.0.1:4140")
        #expect(config.plugins == ["libStandardResolvers.so", "libStandardBalancers.so", "libStandardDiscovery.so"])
        #expect(config.serviceResolvers == ["k8s-service-name", "unknown"])
        #expect(config.endpointResolvers == ["k8s-pod-labels", "unknown"])
        #expect(config.services[0].authority.port == 80)
        #expect(config.services[0].proto == .http1)
        #expect(config.services[0].failureAccrual == nil)
        #expect(config.backends[0].balancer == "p2c-peak-ewma")
        #expect(config.backends[0].queueCapacity == 10_000)
        #expect(config.limits.connections == 10_000)
        #expect(config.limits.requestHeaders == 100)
        #expect(config.timeouts.requestHeader == .seconds(10))
        #expect(config.timeouts.keepAlive == .seconds(60))
        #expect(config.timeouts.requestBodyIdle == .seconds(60))
        #expect(config.timeouts.upstreamIdle == .seconds(90))
        #expect(config.backends[0].failfastTimeout == .seconds(3))
    }
}

/// `switchyard check`, run as a user runs it: plugin-level problems also name their path.
@Suite("switchyard check")
struct CheckCommandTests {
    func check(_ yaml: String) throws -> Subprocess.Result {
        let path = try FixturePlugin.writeFile(named: "check.yaml", contents: yaml)
        return try Subprocess.run(BuildProducts.switchyard, ["check", "--config", path])
    }

    @Test("a resolver in a chain gets its own config block")
    func resolverConfig() throws {
        let result = try check(
            """
            plugins: [libStandardResolvers.so, libStandardBalancers.so, libExampleTeamResolver.so]
            resolvers: { endpoints: [{ name: team-label, config: { group: teams.acme.io } }, k8s-pod-labels, unknown] }
            backends:
              - authority: web.prod.svc.cluster.local:80
                endpoints: [{ address: 10.0.0.1:8080, labels: { team: payments, dst_namespace: prod } }]
            """)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("teams.acme.io/Team prod/payments"), "\(result.standardOutput)")
    }

    @Test("a good config prints the resolved table")
    func good() throws {
        let result = try check(
            """
            services:
              - authority: web.prod.svc.cluster.local:80
            backends:
              - authority: web.prod.svc.cluster.local:80
                balancer: { name: round-robin }
                endpoints: [{ address: 127.0.0.1:18081, labels: { dst_pod: web-0, dst_namespace: prod } }]
            """)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("web.prod.svc.cluster.local:80 [http1] Resource(core/Service prod/web port=80) via k8s-service-name"))
        #expect(result.standardOutput.contains("route Default(http) timeouts: request=off response=off idle=1m"))
        #expect(result.standardOutput.contains("limits: connections=10000 requestHeaders=100"))
        #expect(result.standardOutput.contains("timeouts: requestHeader=10s keepAlive=1m requestBodyIdle=1m upstreamIdle=90s"))
        #expect(result.standardOutput.contains("built in: connectTimeout=2s"))
        #expect(result.standardOutput.contains("balancer: round-robin"))
        #expect(result.standardOutput.contains("endpoint 127.0.0.1:18081 weight=1 Resource(core/Pod prod/web-0 port=18081) via k8s-pod-labels"))
    }

    @Test(
        "plugin-level problems name the path",
        arguments: [
            ("plugins: [libNothing.so]\n", "plugins[0]: "),
            ("resolvers: { services: [k8s-nope] }\n", "resolvers.services[0]: no loaded plugin exports a resolver named 'k8s-nope'"),
            ("resolvers: { endpoints: [k8s-service-name] }\n", "resolvers.endpoints[0]: resolver 'k8s-service-name' does not resolve endpoints"),
            ("backends:\n  - { authority: a:80, balancer: { name: fastest } }\n", "backends[0].balancer.name: no loaded plugin exports a balancer named 'fastest'"),
            ("backends:\n  - { authority: a:80, balancer: { name: p2c-peak-ewma, config: { decay: 0s } } }\n",
             "backends[0].balancer.config: decay: must be at least 1ms, got \"0s\" (refused by balancer 'p2c-peak-ewma' of plugin 'standard-balancers'"),
            ("resolvers: { services: [k8s-service-name] }\nbackends:\n  - { authority: a:80 }\n",
             "backends[0]: no resolver in [k8s-service-name] answered for a:80"),
            ("resolvers: { services: [{ name: k8s-service-name, config: { bogus: 1 } }, unknown] }\n",
             "resolvers.services[0]: config: "),
            ("resolvers: { services: [unknown, unknown] }\n", "resolvers.services[1]: resolver 'unknown' is already in this chain"),
            ("resolvers: { endpoints: [{ config: {} }] }\n", "resolvers.endpoints[0].name: missing (required)"),
        ])
    func refused(yaml: String, error: String) throws {
        let result = try check(yaml)
        #expect(result.status != 0)
        #expect(result.standardError.contains(error), "got: \(result.standardError)")
    }
}
