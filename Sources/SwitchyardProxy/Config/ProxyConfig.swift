import SwitchyardCore
import Yams

/// The config file, decoded and checked (DESIGN.md §10), before plugins and resolvers run.
public struct ProxyConfig: Sendable {
    /// Admin server address.
    public var admin: Authority
    /// Proxy listener address.
    public var listen: Authority
    /// Plugin files, relative to the plugin folder unless absolute.
    public var plugins: [String]
    /// Resolver chain for parents and backends.
    public var serviceResolvers: [String]
    /// Resolver chain for endpoints.
    public var endpointResolvers: [String]
    /// Config blocks (JSON text) of the chains' resolvers that have one, by name; the rest get `{}`.
    public var serviceResolverConfigs: [String: String] = [:]
    public var endpointResolverConfigs: [String: String] = [:]
    /// The services (parents).
    public var services: [Service]
    /// The backends routes send to.
    public var backends: [Backend]
    /// Bounds on what clients may hold.
    public var limits = Limits()
    /// Client-side and upstream-pool timeouts.
    public var timeouts = Timeouts()
    /// The access log; nil (the default) logs no requests.
    public var accessLog: AccessLog?

    /// A service entry.
    public struct Service: Sendable {
        public var path: String
        public var authority: Authority
        public var proto: ServiceProtocol
        public var metadata: Meta?
        public var failureAccrual: FailureAccrualPolicy?
        /// Its routes' timeouts where a route sets none.
        public var timeouts: RouteTimeouts
        public var routes: [Route]

        /// The backends its routes send to (its own authority when it has no routes).
        public var backendAuthorities: [Authority] {
            guard !routes.isEmpty else { return [authority] }
            return routes.flatMap { $0.rules.flatMap { $0.backends } }.compactMap {
                if case .service(let authority) = $0.target { return authority }
                return nil
            }
        }
    }

    /// A route entry.
    public struct Route: Sendable {
        public var path: String
        public var metadata: Meta?
        /// Its own timeouts (unset bounds come from the service).
        public var timeouts: RouteTimeouts
        public var rules: [Rule]
    }

    /// A rule entry.
    public struct Rule: Sendable {
        public var path: String
        public var matches: RuleMatches
        public var filters: [RouteFilter]
        public var distribution: Distribution
        public var backends: [RuleBackend]
    }

    /// A backend reference of a rule.
    public struct RuleBackend: Sendable {
        public var path: String
        public var target: Target
        public var weight: Int
        public var metadata: Meta?

        /// Where it points.
        public enum Target: Sendable {
            /// A backend defined under `backends`, by authority.
            case service(Authority)
            /// A fail backend with an optional message.
            case fail(message: String?)
        }
    }

    /// A backend entry.
    public struct Backend: Sendable {
        public var path: String
        public var authority: Authority
        public var metadata: Meta?
        public var balancer: String
        /// The balancer's config block, as JSON text for the plugin.
        public var balancerConfig: String
        /// Header whose value is hashed for hash-based balancers.
        public var hashHeader: String?
        public var queueCapacity: Int
        public var failfastTimeout: Duration
        /// Its endpoints, when the config lists them (empty with `discovery`).
        public var endpoints: [Endpoint]
        /// Where its endpoints come from instead, when a discovery plugin finds them.
        public var discovery: Discovery?
    }

    /// A backend's `discovery` block (DESIGN.md §12): which discovery finds its endpoints.
    public struct Discovery: Sendable, Hashable {
        public var path: String
        /// The discovery's name, from a loaded plugin.
        public var name: String
        /// Its config block, as JSON text for the plugin.
        public var config: String
        /// How long `/ready` waits for the first set before it gives up waiting (and warns).
        public var initialFetchTimeout: Duration
        /// How long the last good set outlives a failing source (0: forever).
        public var staleAfter: Duration
    }

    /// An endpoint entry.
    public struct Endpoint: Sendable {
        public var path: String
        public var address: Authority
        public var weight: Int
        public var labels: [(key: String, value: String)]
        public var metadata: Meta?
    }
}

extension ProxyConfig {
    /// The plugin files loaded when the config names none.
    public static let defaultPlugins = ["libStandardResolvers.so", "libStandardBalancers.so", "libStandardDiscovery.so"]

    /// The largest config file read (bytes).
    public static let maximumFileSize = 4 << 20
    /// The most YAML nodes a config may hold once its aliases are expanded: a few-KB file of
    /// nested aliases ("billion laughs") would otherwise expand to gigabytes.
    public static let maximumNodes = 500_000

    /// Parses and checks YAML text.
    /// - Throws: ``ConfigError`` naming the path of the first problem.
    public init(yaml: String) throws(ConfigError) {
        guard yaml.utf8.count <= Self.maximumFileSize else {
            throw ConfigError(path: "", "the config is larger than \(Self.maximumFileSize) bytes")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw ConfigError(path: "", "the config is empty") }
            root = node
        } catch let error as ConfigError {
            throw error
        } catch {
            // The parser quotes the offending line, which a hostile file can make megabytes long.
            let reason = String(describing: error)
            throw ConfigError(path: "", "not valid YAML: \(reason.count > 500 ? reason.prefix(500) + "…" : reason)")
        }
        var budget = Self.maximumNodes
        guard Self.fits(root, within: &budget) else {
            throw ConfigError(path: "", "the config has more than \(Self.maximumNodes) YAML nodes once its aliases are expanded")
        }
        let top = try ConfigNode(node: root, path: "").mapping(
            allowed: ["admin", "listen", "plugins", "resolvers", "services", "backends", "limits", "timeouts", "accessLog"])
        admin = try top["admin"]?.authority(allowsPortZero: true) ?? Authority(host: "127.0.0.1", port: 4191)
        listen = try top["listen"]?.authority(allowsPortZero: true) ?? Authority(host: "127.0.0.1", port: 4140)
        plugins = try top["plugins"]?.strings() ?? Self.defaultPlugins
        serviceResolvers = ["k8s-service-name", "unknown"]
        endpointResolvers = ["k8s-pod-labels", "unknown"]
        if let resolvers = try top["resolvers"]?.mapping(allowed: ["services", "endpoints"]) {
            if let node = resolvers["services"] { (serviceResolvers, serviceResolverConfigs) = try Self.chain(node) }
            if let node = resolvers["endpoints"] { (endpointResolvers, endpointResolverConfigs) = try Self.chain(node) }
        }
        backends = try (top["backends"]?.sequence() ?? []).map { node throws(ConfigError) in try Self.backend(node) }
        services = try (top["services"]?.sequence() ?? []).map { node throws(ConfigError) in try Self.service(node) }
        if let node = top["limits"] { limits = try Limits(node) }
        if let node = top["timeouts"] { timeouts = try Timeouts(node) }
        if let node = top["accessLog"] { accessLog = try AccessLog(node) }
        try checkReferences()
    }

    /// A resolver chain: each entry a name, or `{ name, config }` with the resolver's config
    /// block (JSON text, as a balancer's). A name appears once per chain.
    private static func chain(_ node: ConfigNode) throws(ConfigError) -> (names: [String], configs: [String: String]) {
        var names: [String] = []
        var configs: [String: String] = [:]
        for entry in try node.sequence() {
            let name: String
            if case .scalar = entry.node {
                name = try entry.nonEmptyString()
            } else {
                let m = try entry.mapping(allowed: ["name", "config"])
                name = try m.required("name").nonEmptyString()
                if let config = m["config"] { configs[name] = try config.json().description }
            }
            guard !names.contains(name) else { throw entry.error("resolver '\(name)' is already in this chain") }
            names.append(name)
        }
        return (names, configs)
    }

    /// Counts `node`'s nodes (aliases expanded) against `budget`, stopping as soon as it runs out.
    private static func fits(_ node: Node, within budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0 else { return false }
        switch node {
        case .scalar, .alias: return true
        case .sequence(let sequence):
            for element in sequence where !fits(element, within: &budget) { return false }
            return true
        case .mapping(let mapping):
            for (key, value) in mapping where !fits(key, within: &budget) || !fits(value, within: &budget) { return false }
            return true
        }
    }

    // MARK: Services and routes

    private static func service(_ node: ConfigNode) throws(ConfigError) -> Service {
        let m = try node.mapping(allowed: ["authority", "protocol", "metadata", "failureAccrual", "timeouts", "routes"])
        var proto = ServiceProtocol.http1
        if let p = m["protocol"] {
            let text = try p.string()
            guard let value = ServiceProtocol(rawValue: text) else { throw p.error("must be one of http1, http2, grpc") }
            proto = value
        }
        return Service(
            path: node.path,
            authority: try m.required("authority").authority(defaultPort: 80),
            proto: proto,
            metadata: try m["metadata"].map { n throws(ConfigError) in try metadata(n) },
            failureAccrual: try m["failureAccrual"].map { n throws(ConfigError) in try failureAccrual(n) },
            timeouts: try m["timeouts"].map { n throws(ConfigError) in try routeTimeouts(n) } ?? RouteTimeouts(),
            routes: try (m["routes"]?.sequence() ?? []).map { n throws(ConfigError) in try route(n, proto) })
    }

    private static func route(_ node: ConfigNode, _ proto: ServiceProtocol) throws(ConfigError) -> Route {
        let m = try node.mapping(allowed: ["metadata", "timeouts", "rules"])
        let rules = try m.required("rules").sequence()
        guard !rules.isEmpty else { throw ConfigError(path: node.child("rules"), "a route needs at least one rule") }
        return Route(
            path: node.path,
            metadata: try m["metadata"].map { n throws(ConfigError) in try metadata(n) },
            timeouts: try m["timeouts"].map { n throws(ConfigError) in try routeTimeouts(n) } ?? RouteTimeouts(),
            rules: try rules.map { n throws(ConfigError) in try rule(n, proto) })
    }

    private static func rule(_ node: ConfigNode, _ proto: ServiceProtocol) throws(ConfigError) -> Rule {
        let m = try node.mapping(allowed: ["matches", "filters", "distribution", "backends"])
        let matchNodes = try m["matches"]?.sequence() ?? []
        let matches: RuleMatches =
            proto == .grpc
            ? .grpc(try matchNodes.map { n throws(ConfigError) in try grpcMatch(n) })
            : .http(try matchNodes.map { n throws(ConfigError) in try httpMatch(n) })
        var distribution = Distribution.randomAvailable
        if let d = m["distribution"] {
            guard let value = Distribution(rawValue: try d.string()) else { throw d.error("must be randomAvailable or firstAvailable") }
            distribution = value
        }
        return Rule(
            path: node.path,
            matches: matches,
            filters: try (m["filters"]?.sequence() ?? []).map { n throws(ConfigError) in try filter(n) },
            distribution: distribution,
            backends: try (m["backends"]?.sequence() ?? []).map { n throws(ConfigError) in try ruleBackend(n) })
    }

    private static func httpMatch(_ node: ConfigNode) throws(ConfigError) -> HTTPRouteMatch {
        let m = try node.mapping(allowed: ["path", "headers", "queryParams", "method"])
        var match = HTTPRouteMatch()
        if let p = m["path"] {
            let kinds = try p.mapping(allowed: ["exact", "prefix", "regex"])
            guard kinds.members.count == 1 else { throw p.error("give exactly one of exact, prefix, regex") }
            let (kind, value) = kinds.members[0]
            switch kind {
            case "exact": match.path = .exact(try pathString(value))
            case "prefix": match.path = .prefix(try pathString(value))
            default: match.path = .regex(try value.regex())
            }
        }
        match.headers = try (m["headers"]?.sequence() ?? []).map { n throws(ConfigError) in try valueMatch(n, header: true) }
        match.queryParameters = try (m["queryParams"]?.sequence() ?? []).map { n throws(ConfigError) in try valueMatch(n, header: false) }
        if let method = m["method"] {
            let text = try method.nonEmptyString()
            guard text.allSatisfy({ $0.isASCII && ($0.isUppercase || $0 == "-") }) else { throw method.error("must be an upper-case HTTP method such as GET") }
            match.method = text
        }
        return match
    }

    private static func pathString(_ node: ConfigNode) throws(ConfigError) -> String {
        let path = try node.string()
        guard path.hasPrefix("/") else { throw node.error("must start with '/'") }
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw node.error("must not contain spaces or control characters") }
        return path
    }

    private static func grpcMatch(_ node: ConfigNode) throws(ConfigError) -> GRPCRouteMatch {
        let m = try node.mapping(allowed: ["rpc", "headers"])
        var match = GRPCRouteMatch()
        if let rpc = try m["rpc"]?.mapping(allowed: ["service", "method"]) {
            match.service = try rpc["service"]?.nonEmptyString()
            match.method = try rpc["method"]?.nonEmptyString()
        }
        match.headers = try (m["headers"]?.sequence() ?? []).map { n throws(ConfigError) in try valueMatch(n, header: true) }
        return match
    }

    private static func valueMatch(_ node: ConfigNode, header: Bool) throws(ConfigError) -> ValueMatch {
        let m = try node.mapping(allowed: ["name", "exact", "regex"])
        let name = try m.required("name").nonEmptyString()
        switch (m["exact"], m["regex"]) {
        case (let exact?, nil): return ValueMatch(name: header ? name.lowercased() : name, value: .exact(try exact.string()))
        case (nil, let regex?): return ValueMatch(name: header ? name.lowercased() : name, value: .regex(try regex.regex()))
        default: throw node.error("give exactly one of exact, regex")
        }
    }

    private static func filter(_ node: ConfigNode) throws(ConfigError) -> RouteFilter {
        let m = try node.mapping(allowed: ["requestHeaderModifier", "failureInjector", "requestRedirect"])
        guard m.members.count == 1 else { throw node.error("give exactly one filter per entry") }
        let (kind, value) = m.members[0]
        switch kind {
        case "requestHeaderModifier":
            let h = try value.mapping(allowed: ["set", "add", "remove"])
            return .requestHeaderModifier(
                RouteFilter.HeaderModifier(
                    set: try headerPairs(h["set"]), add: try headerPairs(h["add"]),
                    remove: try (h["remove"]?.sequence() ?? []).map { n throws(ConfigError) in try n.headerName() }))
        case "failureInjector":
            let f = try value.mapping(allowed: ["status", "message", "ratio"])
            return .failureInjector(
                RouteFilter.FailureInjector(
                    status: try f["status"]?.int(100...599) ?? 500,
                    message: try f["message"]?.headerValue() ?? "injected failure",
                    ratio: try f["ratio"]?.double(0...1) ?? 1))
        default:
            let r = try value.mapping(allowed: ["scheme", "hostname", "port", "path", "statusCode"])
            var redirect = RouteFilter.Redirect()
            if let scheme = r["scheme"] {
                let text = try scheme.string()
                guard text == "http" || text == "https" else { throw scheme.error("must be http or https") }
                redirect.scheme = text
            }
            if let hostname = r["hostname"] {
                let text = try hostname.nonEmptyString()
                guard (try? Authority(parsing: text, defaultPort: 80)) != nil, !text.contains(":") || text.hasPrefix("[") else {
                    throw hostname.error("'\(text)' is not a host name or address")
                }
                redirect.hostname = text
            }
            redirect.port = try r["port"]?.int(1...65535)
            redirect.path = try r["path"].map { n throws(ConfigError) in try pathString(n) }
            if let code = r["statusCode"] {
                let value = try code.int(300...399)
                guard [301, 302, 303, 307, 308].contains(value) else { throw code.error("must be 301, 302, 303, 307 or 308") }
                redirect.statusCode = value
            }
            return .requestRedirect(redirect)
        }
    }

    /// `{ name: value, ... }` header pairs, names lower-cased.
    private static func headerPairs(_ node: ConfigNode?) throws(ConfigError) -> [(name: String, value: String)] {
        guard let node else { return [] }
        guard case .mapping(let mapping) = node.node else { throw node.error("expected a mapping of header names to values") }
        var pairs: [(name: String, value: String)] = []
        for (key, value) in mapping {
            let name = try ConfigNode(node: key, path: node.path).headerName()
            pairs.append((name, try ConfigNode(node: value, path: node.child(name)).headerValue()))
        }
        return pairs
    }

    private static func ruleBackend(_ node: ConfigNode) throws(ConfigError) -> RuleBackend {
        let m = try node.mapping(allowed: ["service", "fail", "weight", "metadata"])
        let target: RuleBackend.Target
        switch (m["service"], m["fail"]) {
        case (let service?, nil):
            target = .service(try service.authority(defaultPort: 80))
        case (nil, let fail?):
            if case .mapping = fail.node {
                target = .fail(message: try fail.mapping(allowed: ["message"])["message"]?.headerValue())
            } else {
                guard try fail.bool() else { throw fail.error("write `fail: true` or `fail: { message: ... }`") }
                target = .fail(message: nil)
            }
        default:
            throw node.error("give exactly one of service, fail")
        }
        return RuleBackend(
            path: node.path, target: target,
            weight: try m["weight"]?.int(0...1_000_000) ?? 1,
            metadata: try m["metadata"].map { n throws(ConfigError) in try metadata(n) })
    }

    // MARK: Backends

    private static func backend(_ node: ConfigNode) throws(ConfigError) -> Backend {
        let m = try node.mapping(allowed: ["authority", "metadata", "balancer", "hashPolicy", "queue", "endpoints", "discovery"])
        var balancer = "p2c-peak-ewma"
        var balancerConfig = "{}"
        if let b = try m["balancer"]?.mapping(allowed: ["name", "config"]) {
            balancer = try b.required("name").nonEmptyString()
            if let config = b["config"] { balancerConfig = try config.json().description }
        }
        var capacity = 10_000
        var failfast = Duration.seconds(3)
        if let q = try m["queue"]?.mapping(allowed: ["capacity", "failfastTimeout"]) {
            capacity = try q["capacity"]?.int(0...10_000_000) ?? capacity
            if let f = q["failfastTimeout"] {
                failfast = try f.duration()
                guard failfast > .zero else { throw f.error("must be greater than 0s") }
            }
        }
        let endpoints = try (m["endpoints"]?.sequence() ?? []).map { n throws(ConfigError) in try endpoint(n) }
        var addresses = Set<Authority>()
        for e in endpoints where !addresses.insert(e.address).inserted {
            throw ConfigError(path: e.path, "duplicate endpoint address \(e.address)")
        }
        let discovery = try m["discovery"].map { n throws(ConfigError) in try Self.discovery(n) }
        if discovery != nil, let listed = m["endpoints"] {
            throw listed.error("a backend takes either endpoints or discovery, not both")
        }
        return Backend(
            path: node.path,
            authority: try m.required("authority").authority(defaultPort: 80),
            metadata: try m["metadata"].map { n throws(ConfigError) in try metadata(n) },
            balancer: balancer, balancerConfig: balancerConfig,
            hashHeader: try m["hashPolicy"].map { n throws(ConfigError) in
                try n.mapping(allowed: ["header"]).required("header").nonEmptyString().lowercased()
            },
            queueCapacity: capacity, failfastTimeout: failfast, endpoints: endpoints, discovery: discovery)
    }

    private static func discovery(_ node: ConfigNode) throws(ConfigError) -> Discovery {
        let m = try node.mapping(allowed: ["name", "config", "initialFetchTimeout", "staleAfter"])
        return Discovery(
            path: node.path, name: try m.required("name").nonEmptyString(), config: try m["config"]?.json().description ?? "{}",
            initialFetchTimeout: try m["initialFetchTimeout"].map { n throws(ConfigError) in
                let timeout = try n.positiveDuration()
                // A reload waits this long for a new discovery: bound it.
                guard timeout <= .seconds(600) else { throw n.error("must be at most 10m") }
                return timeout
            } ?? .seconds(15),
            staleAfter: try m["staleAfter"]?.duration() ?? .zero)
    }

    private static func endpoint(_ node: ConfigNode) throws(ConfigError) -> Endpoint {
        let m = try node.mapping(allowed: ["address", "weight", "labels", "metadata"])
        var labels: [(key: String, value: String)] = []
        if let l = m["labels"] {
            guard case .mapping(let mapping) = l.node else { throw l.error("expected a mapping of label names to values") }
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw l.error("label names must be strings") }
                labels.append((name, try ConfigNode(node: value, path: l.child(name)).string()))
            }
        }
        return Endpoint(
            path: node.path,
            address: try m.required("address").authority(),
            weight: try m["weight"]?.int(1...1_000_000) ?? 1,
            labels: labels,
            metadata: try m["metadata"].map { n throws(ConfigError) in try metadata(n) })
    }

    // MARK: Shared pieces

    /// `metadata: {group, kind, namespace, name, section, port}`; only `name` (a Default) or
    /// `kind` and `name` (a Resource) are required.
    static func metadata(_ node: ConfigNode) throws(ConfigError) -> Meta {
        let m = try node.mapping(allowed: ["group", "kind", "namespace", "name", "section", "port"])
        let name = try m.required("name").nonEmptyString()
        guard let kind = try m["kind"]?.nonEmptyString(), kind != "default" else {
            guard m.members.count == 1 || (m.members.count == 2 && m["kind"] != nil) else {
                throw node.error("a default metadata has only a name; give kind for a resource")
            }
            return .default(name: name)
        }
        return .resource(
            group: try m["group"]?.string() ?? "",
            kind: kind,
            namespace: try m["namespace"]?.string() ?? "",
            name: name,
            section: try m["section"]?.string(),
            port: try m["port"].map { n throws(ConfigError) in UInt16(try n.int(1...65535)) })
    }

    private static func failureAccrual(_ node: ConfigNode) throws(ConfigError) -> FailureAccrualPolicy {
        let m = try node.mapping(allowed: ["consecutive"])
        let c = try m.required("consecutive").mapping(allowed: ["maxFailures", "minPenalty", "maxPenalty", "jitter"])
        var policy = FailureAccrualPolicy()
        policy.maxFailures = try c["maxFailures"]?.int(1...Int(UInt32.max)) ?? policy.maxFailures
        policy.minPenalty = try c["minPenalty"]?.duration() ?? policy.minPenalty
        policy.maxPenalty = try c["maxPenalty"]?.duration() ?? policy.maxPenalty
        policy.jitter = try c["jitter"]?.double(0...100) ?? policy.jitter
        guard policy.minPenalty > .zero else { throw ConfigError(path: c.parent.child("minPenalty"), "must be greater than 0s") }
        guard policy.minPenalty <= policy.maxPenalty else {
            throw ConfigError(path: c.parent.child("minPenalty"), "must not exceed maxPenalty (\(DurationText.format(policy.maxPenalty)))")
        }
        return policy
    }

    /// Every `service:` a rule names must be defined under `backends`, once.
    private func checkReferences() throws(ConfigError) {
        var defined = Set<Authority>()
        for b in backends where !defined.insert(b.authority).inserted {
            throw ConfigError(path: b.path + ".authority", "backend \(b.authority) is defined twice")
        }
        var named = Set<Authority>()
        for s in services where !named.insert(s.authority).inserted {
            throw ConfigError(path: s.path + ".authority", "service \(s.authority) is defined twice")
        }
        for service in services {
            if service.routes.isEmpty, !defined.contains(service.authority) {
                throw ConfigError(
                    path: service.path,
                    "has no routes, so its default route sends to \(service.authority), but no backend with that authority is defined")
            }
            for route in service.routes {
                for rule in route.rules {
                    for backend in rule.backends {
                        if case .service(let authority) = backend.target, !defined.contains(authority) {
                            throw ConfigError(path: backend.path + ".service", "backend \(authority) is not defined under backends")
                        }
                    }
                }
            }
        }
    }
}
