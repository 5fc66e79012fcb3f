import Logging
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardTestSupport
import Testing

/// The standard resolvers, loaded from the built `libStandardResolvers.so` and called through
/// the ABI, exactly as DESIGN.md §4 states them.
@Suite("Standard resolvers (through the ABI)")
struct StandardResolversTests {
    let registry: PluginRegistry

    init() throws {
        registry = PluginRegistry(logger: Logger(label: "test"))
        try registry.load(BuildProducts.plugin("StandardResolvers"))
    }

    func service(_ name: String, _ authority: String) throws -> Meta? {
        try #require(registry.resolver(named: name)).makeInstance().resolve(service: Authority(parsing: authority))
    }

    func endpoint(_ name: String, _ labels: [(key: String, value: String)], address: String = "127.0.0.1:18081") throws -> Meta? {
        try #require(registry.resolver(named: name)).makeInstance().resolve(endpoint: Authority(parsing: address), labels: labels)
    }

    @Test("the plugin exports the three resolvers, for the right kinds")
    func exports() throws {
        #expect(registry.resolverNames == ["k8s-pod-labels", "k8s-service-name", "unknown"])
        #expect(try #require(registry.resolver(named: "k8s-service-name")).resolvesServices)
        #expect(try !#require(registry.resolver(named: "k8s-service-name")).resolvesEndpoints)
        #expect(try #require(registry.resolver(named: "k8s-pod-labels")).resolvesEndpoints)
        #expect(try !#require(registry.resolver(named: "k8s-pod-labels")).resolvesServices)
        #expect(try #require(registry.resolver(named: "unknown")).resolvesServices)
        #expect(try #require(registry.resolver(named: "unknown")).resolvesEndpoints)
    }

    @Test(
        "k8s-service-name reads <name>.<ns>.svc[.<anything>]:<port>",
        arguments: [
            ("web.prod.svc.cluster.local:80", "prod", "web", 80),
            ("web.prod.svc:8080", "prod", "web", 8080),
            ("web.prod.SVC.cluster.local:80", "prod", "web", 80),
            ("api.ns.Svc.anything.else.here:7979", "ns", "api", 7979),
        ] as [(String, String, String, UInt16)])
    func serviceName(authority: String, namespace: String, name: String, port: UInt16) throws {
        #expect(
            try service("k8s-service-name", authority)
                == .resource(group: "core", kind: "Service", namespace: namespace, name: name, port: port))
    }

    @Test(
        "k8s-service-name declines what does not fit",
        arguments: ["web:80", "web.prod:80", "web.prod.cluster.local:80", "web.prod.svcx.cluster.local:80", "127.0.0.1:80", "[::1]:80", ".prod.svc:80"])
    func serviceNameDeclines(authority: String) throws {
        #expect(try service("k8s-service-name", authority) == nil)
    }

    @Test("k8s-pod-labels: both labels give the Pod with the endpoint's port")
    func podLabels() throws {
        #expect(
            try endpoint("k8s-pod-labels", [("dst_pod", "web-v1-0"), ("dst_namespace", "prod")])
                == .resource(group: "core", kind: "Pod", namespace: "prod", name: "web-v1-0", port: 18081))
    }

    @Test("k8s-pod-labels keeps the namespace when the pod label is missing")
    func podLabelsNamespaceOnly() throws {
        #expect(
            try endpoint("k8s-pod-labels", [("dst_namespace", "prod"), ("app", "web")], address: "10.0.0.1:9090")
                == .resource(group: "core", kind: "Pod", namespace: "prod", name: "unknown", port: 9090))
    }

    @Test("k8s-pod-labels declines without a namespace")
    func podLabelsDeclines() throws {
        #expect(try endpoint("k8s-pod-labels", []) == nil)
        #expect(try endpoint("k8s-pod-labels", [("dst_pod", "web-0")]) == nil)
    }

    @Test("unknown always answers Default(unknown)")
    func unknown() throws {
        #expect(try service("unknown", "anything:1") == .default(name: "unknown"))
        #expect(try endpoint("unknown", []) == .default(name: "unknown"))
    }

    @Test("resolvers that take no config refuse config keys")
    func noConfig() throws {
        let error = #expect(throws: PluginError.self) {
            try #require(registry.resolver(named: "unknown")).makeInstance(configJSON: #"{"x": 1}"#)
        }
        #expect(error?.description.hasPrefix("x: unknown key (this implementation takes no config) (refused by resolver 'unknown' of plugin 'standard-resolvers', ") == true)
    }

    @Test("the default chains: first answer wins, unknown catches the rest")
    func defaultChains() throws {
        let services = try ResolverChain(.services, names: ["k8s-service-name", "unknown"], registry: registry)
        #expect(
            services.resolve(service: try Authority(parsing: "web.prod.svc.cluster.local:80"))
                == .init(meta: .resource(group: "core", kind: "Service", namespace: "prod", name: "web", port: 80), resolver: "k8s-service-name"))
        #expect(services.resolve(service: try Authority(parsing: "example.com:443")) == .init(meta: .default(name: "unknown"), resolver: "unknown"))

        let endpoints = try ResolverChain(.endpoints, names: ["k8s-pod-labels", "unknown"], registry: registry)
        #expect(endpoints.resolve(endpoint: try Authority(parsing: "127.0.0.1:1"), labels: [])?.meta == .default(name: "unknown"))
        #expect(endpoints.resolve(endpoint: try Authority(parsing: "127.0.0.1:1"), labels: [("dst_namespace", "a"), ("dst_pod", "b")])?.resolver == "k8s-pod-labels")

        let partial = try ResolverChain(.services, names: ["k8s-service-name"], registry: registry)
        #expect(partial.resolve(service: try Authority(parsing: "example.com:443")) == nil)
    }

    @Test("chains refuse unknown names and resolvers of the wrong kind, naming the entry")
    func chainErrors() throws {
        #expect(throws: ResolverChainError(index: 1, kind: .services, message: "no loaded plugin exports a resolver named 'k8s-nope' (known: k8s-pod-labels, k8s-service-name, unknown)")) {
            try ResolverChain(.services, names: ["unknown", "k8s-nope"], registry: registry)
        }
        let error = #expect(throws: ResolverChainError.self) {
            try ResolverChain(.endpoints, names: ["k8s-service-name"], registry: registry)
        }
        #expect(error?.description == "resolvers.endpoints[0]: resolver 'k8s-service-name' does not resolve endpoints")
    }
}
