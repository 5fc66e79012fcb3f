import Logging
import SwitchyardCore
import SwitchyardPluginHost

/// The resolved table a config turns into once plugins are loaded and metadata resolved
/// (DESIGN.md §2): what the data path routes with. Built off the request path, immutable.
public final class RoutingTable: Sendable {
    /// A service and its router.
    public struct Service: Sendable {
        /// Metadata, authority, protocol and routes.
        public let policy: ServicePolicy
        /// Which resolver gave the parent's metadata (`config` when the config did).
        public let resolvedBy: String
        /// The breaker parameters, if the service has failure accrual.
        public let failureAccrual: FailureAccrualPolicy?
        /// The precomputed rule chooser.
        public let router: Router
    }

    /// A backend: where its requests go and how it balances them.
    public struct Backend: Sendable {
        /// The backend's metadata.
        public let backend: BackendRef
        /// Which resolver gave it.
        public let resolvedBy: String
        /// The authority routes name it by.
        public let authority: Authority
        /// The balancer plugin implementation.
        public let balancer: BalancerDefinition
        /// The balancer's config block (JSON text).
        public let balancerConfig: String
        /// The load model the balancer asked for.
        public let loadModel: LoadModel
        /// Header hashed for hash-based balancers.
        public let hashHeader: String?
        /// Queue capacity.
        public let queueCapacity: Int
        /// How long a request may wait for a ready endpoint.
        public let failfastTimeout: Duration
        /// Its endpoints as the config lists them (none when a discovery finds them).
        public let endpoints: [Endpoint]
        /// Where its endpoints come from instead: a discovery plugin.
        public let discovery: Discovery?
        /// How it speaks to them (the protocol of the services routing to it; HTTP/1.1 unless a
        /// service of protocol http2 or grpc routes to it).
        public let proto: ServiceProtocol
        /// The breaker parameters of its endpoints, if a service routing to it has them.
        public let failureAccrual: FailureAccrualPolicy?
    }

    /// A backend's discovery: which plugin finds its endpoints, and with what config.
    public struct Discovery: Sendable {
        /// The discovery implementation.
        public let definition: DiscoveryDefinition
        /// The config's `discovery` block.
        public let config: ProxyConfig.Discovery
        /// What its instance is made for.
        public let target: DiscoveryDefinition.Target
    }

    /// An endpoint of a backend.
    public struct Endpoint: Sendable {
        /// The endpoint's metadata.
        public let endpoint: EndpointRef
        /// Which resolver gave it.
        public let resolvedBy: String
        /// Its address.
        public let address: Authority
        /// Its weight.
        public let weight: Int
    }

    /// The config it was built from.
    public let config: ProxyConfig
    /// The loaded plugins.
    public let registry: PluginRegistry
    /// Services, in config order.
    public let services: [Service]
    /// The endpoint resolver chain: discovered endpoints are resolved with it as they come.
    public let endpointResolvers: ResolverChain
    /// Backends, in config order.
    public let backends: [Backend]
    private let serviceIndex: [Authority: Int]

    /// Loads the config's plugins from `pluginDirectory`, resolves all metadata and checks every
    /// balancer config.
    /// - Throws: ``ConfigError`` naming the path of the first problem.
    public init(config: ProxyConfig, pluginDirectory: String, logger: Logger) throws(ConfigError) {
        self.config = config
        let registry = PluginRegistry(logger: logger)
        for (i, file) in config.plugins.enumerated() {
            do {
                try registry.load(try PluginFile.path(of: file, in: pluginDirectory))
            } catch {
                throw ConfigError(path: "plugins[\(i)]", error.description)
            }
        }
        self.registry = registry
        let serviceChain: ResolverChain
        let endpointChain: ResolverChain
        do {
            serviceChain = try ResolverChain(.services, names: config.serviceResolvers, registry: registry, configs: config.serviceResolverConfigs)
            endpointChain = try ResolverChain(
                .endpoints, names: config.endpointResolvers, registry: registry, configs: config.endpointResolverConfigs)
        } catch let error as ResolverChainError {
            throw ConfigError(path: "", error.description)
        } catch {
            throw ConfigError(path: "resolvers", "\(error)")
        }

        func resolve(_ explicit: Meta?, _ authority: Authority, _ path: String) throws(ConfigError) -> (Meta, String) {
            if let explicit { return (explicit, "config") }
            guard let answer = serviceChain.resolve(service: authority) else {
                throw ConfigError(path: path, "no resolver in [\(config.serviceResolvers.joined(separator: ", "))] answered for \(authority); end the chain with 'unknown'")
            }
            return (answer.meta, answer.resolver)
        }

        // Backends spoken to over HTTP/2 are those an http2 or grpc service routes to. A
        // backend's breaker takes the failure accrual of the first service (in config order)
        // that has one and routes to it.
        var h2Backends = Set<Authority>()
        var accrual: [Authority: FailureAccrualPolicy] = [:]
        for service in config.services {
            for authority in service.backendAuthorities {
                if service.proto != .http1 { h2Backends.insert(authority) }
                if let policy = service.failureAccrual, accrual[authority] == nil { accrual[authority] = policy }
            }
        }

        var backends: [Backend] = []
        for backend in config.backends {
            let (meta, resolvedBy) = try resolve(backend.metadata, backend.authority, backend.path)
            guard let balancer = registry.balancer(named: backend.balancer) else {
                throw ConfigError(
                    path: backend.path + ".balancer.name",
                    "no loaded plugin exports a balancer named '\(backend.balancer)' (known: \(registry.balancerNames.joined(separator: ", ")))")
            }
            let loadModel: LoadModel
            do {
                loadModel = try balancer.validate(configJSON: backend.balancerConfig)
            } catch {
                throw ConfigError(path: backend.path + ".balancer.config", error.description)
            }
            let discovery = try backend.discovery.map { d throws(ConfigError) -> Discovery in
                guard let definition = registry.discovery(named: d.name) else {
                    let known = registry.discoveryNames
                    throw ConfigError(
                        path: d.path + ".name",
                        "no loaded plugin exports a discovery named '\(d.name)' (known: \(known.isEmpty ? "none; add libStandardDiscovery.so to plugins" : known.joined(separator: ", ")))")
                }
                let target = DiscoveryDefinition.Target(configJSON: d.config, authority: backend.authority)
                do throws(PluginError) {
                    try definition.validate(target)
                } catch {
                    throw ConfigError(path: d.path + ".config", error.description)
                }
                return Discovery(definition: definition, config: d, target: target)
            }
            let endpoints = try backend.endpoints.map { e throws(ConfigError) -> Endpoint in
                if let explicit = e.metadata {
                    return Endpoint(endpoint: EndpointRef(explicit), resolvedBy: "config", address: e.address, weight: e.weight)
                }
                guard let answer = endpointChain.resolve(endpoint: e.address, labels: e.labels) else {
                    throw ConfigError(path: e.path, "no resolver in [\(config.endpointResolvers.joined(separator: ", "))] answered for \(e.address); end the chain with 'unknown'")
                }
                return Endpoint(endpoint: EndpointRef(answer.meta), resolvedBy: answer.resolver, address: e.address, weight: e.weight)
            }
            backends.append(
                Backend(
                    backend: BackendRef(meta), resolvedBy: resolvedBy, authority: backend.authority, balancer: balancer,
                    balancerConfig: backend.balancerConfig, loadModel: loadModel, hashHeader: backend.hashHeader,
                    queueCapacity: backend.queueCapacity, failfastTimeout: backend.failfastTimeout, endpoints: endpoints, discovery: discovery,
                    proto: h2Backends.contains(backend.authority) ? .http2 : .http1,
                    failureAccrual: accrual[backend.authority]))
        }
        let backendIndex = Dictionary(uniqueKeysWithValues: backends.enumerated().map { ($1.authority, $0) })
        /// The backend an authority names (the config reader checked every one exists).
        func backend(_ authority: Authority, at path: String) throws(ConfigError) -> Int {
            guard let index = backendIndex[authority] else { throw ConfigError(path: path, "no backend with authority \(authority)") }
            return index
        }

        var services: [Service] = []
        for service in config.services {
            let (meta, resolvedBy) = try resolve(service.metadata, service.authority, service.path)
            let defaultName = service.proto == .grpc ? "grpc" : "http"
            let serviceTimeouts = service.timeouts.over(.defaults)
            var routes: [RoutePolicy] = try service.routes.map { route throws(ConfigError) in
                try RoutePolicy(
                    route: RouteRef(route.metadata ?? .default(name: defaultName)),
                    rules: route.rules.map { rule throws(ConfigError) in
                        try RouteRule(
                            matches: rule.matches, filters: rule.filters, distribution: rule.distribution,
                            backends: rule.backends.map { b throws(ConfigError) in
                                switch b.target {
                                case .service(let authority):
                                    let index = try backend(authority, at: service.path)
                                    return RouteBackend(backend: b.metadata.map(BackendRef.init) ?? backends[index].backend, weight: b.weight, target: .backend(index))
                                case .fail(let message):
                                    return RouteBackend(
                                        backend: BackendRef(b.metadata ?? .default(name: "fail")), weight: b.weight,
                                        target: .fail(message: message ?? "request failed by a fail backend"))
                                }
                            })
                    },
                    timeouts: route.timeouts.over(serviceTimeouts).resolved)
            }
            if routes.isEmpty {
                let index = try backend(service.authority, at: service.path)
                let matches: RuleMatches = service.proto == .grpc ? .grpc([]) : .http([])
                routes = [
                    RoutePolicy(
                        route: RouteRef(.default(name: defaultName)),
                        rules: [
                            RouteRule(
                                matches: matches, filters: [], distribution: .firstAvailable,
                                backends: [RouteBackend(backend: backends[index].backend, weight: 1, target: .backend(index))])
                        ],
                        timeouts: serviceTimeouts.resolved)
                ]
            }
            let policy = ServicePolicy(parent: ParentRef(meta), authority: service.authority, proto: service.proto, routes: routes)
            services.append(Service(policy: policy, resolvedBy: resolvedBy, failureAccrual: service.failureAccrual, router: Router(routes: routes)))
        }
        self.services = services
        self.backends = backends
        self.endpointResolvers = endpointChain
        self.serviceIndex = Dictionary(uniqueKeysWithValues: services.enumerated().map { ($1.policy.authority, $0) })
    }

    /// The index of the service named by `authority` (port 80 when absent), if any.
    public func serviceIndex(for authority: Authority) -> Int? {
        serviceIndex[authority]
    }
}
