/// The protocol a service speaks to its clients and backends.
public enum ServiceProtocol: String, Sendable, CaseIterable {
    /// HTTP/1.1 upstream (clients may use HTTP/1.1 or HTTP/2).
    case http1
    /// HTTP/2 upstream, multiplexed.
    case http2
    /// gRPC: HTTP/2 upstream, gRPC routes and gRPC error responses.
    case grpc
}

/// A service (parent) and the routes requests to it take.
public struct ServicePolicy: Sendable {
    /// The service's metadata.
    public var parent: ParentRef
    /// The authority requests name it by.
    public var authority: Authority
    /// How it is spoken to.
    public var proto: ServiceProtocol
    /// Its routes, in config order; for a service without routes, one default route.
    public var routes: [RoutePolicy]

    /// Creates a service policy.
    public init(parent: ParentRef, authority: Authority, proto: ServiceProtocol, routes: [RoutePolicy]) {
        self.parent = parent
        self.authority = authority
        self.proto = proto
        self.routes = routes
    }
}

/// A route (an HTTPRoute or GRPCRoute) of a service.
public struct RoutePolicy: Sendable {
    /// The route's metadata.
    public var route: RouteRef
    /// Its rules, in config order.
    public var rules: [RouteRule]
    /// Its timeouts (the route's own, else the service's, else the defaults).
    public var timeouts: RouteTimeouts

    /// Creates a route.
    public init(route: RouteRef, rules: [RouteRule], timeouts: RouteTimeouts = .defaults) {
        self.route = route
        self.rules = rules
        self.timeouts = timeouts
    }
}

/// The matches of a rule: HTTP or gRPC, by the service's protocol.
public enum RuleMatches: Sendable {
    /// HTTP matches; any one matching selects the rule.
    case http([HTTPRouteMatch])
    /// gRPC matches; any one matching selects the rule.
    case grpc([GRPCRouteMatch])
}

/// One rule of a route: when it applies, what it does to the request, and where it goes.
public struct RouteRule: Sendable {
    /// When it applies.
    public var matches: RuleMatches
    /// What it does to the request, in order.
    public var filters: [RouteFilter]
    /// How it chooses among its backends.
    public var distribution: Distribution
    /// Where it may send requests.
    public var backends: [RouteBackend]

    /// Creates a rule.
    public init(matches: RuleMatches, filters: [RouteFilter], distribution: Distribution, backends: [RouteBackend]) {
        self.matches = matches
        self.filters = filters
        self.distribution = distribution
        self.backends = backends
    }
}

/// How a rule chooses among its backends (DESIGN.md §6).
public enum Distribution: String, Sendable {
    /// Weighted random among available backends (an unavailable one weighs 0 for that pick).
    case randomAvailable
    /// The first available backend in config order.
    case firstAvailable
}

/// A backend of a rule.
public struct RouteBackend: Sendable {
    /// The backend's metadata (for a `fail` backend, what it stands for, or `Default("fail")`).
    public var backend: BackendRef
    /// Relative weight for `randomAvailable`; 0 never receives traffic.
    public var weight: Int
    /// Where requests go.
    public var target: Target

    /// What a route backend sends requests to.
    public enum Target: Sendable {
        /// A defined backend, by its index in the routing table.
        case backend(Int)
        /// Nothing: every request fails with 502 and this message.
        case fail(message: String)
    }

    /// Creates a route backend.
    public init(backend: BackendRef, weight: Int, target: Target) {
        self.backend = backend
        self.weight = weight
        self.target = target
    }
}

/// What a rule does to a request before it is sent (DESIGN.md §6).
public enum RouteFilter: Sendable {
    /// Sets, adds and removes request headers.
    case requestHeaderModifier(HeaderModifier)
    /// Fails a fraction of requests with a synthetic response.
    case failureInjector(FailureInjector)
    /// Answers with a redirect instead of proxying.
    case requestRedirect(Redirect)

    /// Header edits, applied remove → set → add.
    public struct HeaderModifier: Sendable {
        /// Headers replaced (or added when absent).
        public var set: [(name: String, value: String)]
        /// Headers appended.
        public var add: [(name: String, value: String)]
        /// Headers removed.
        public var remove: [String]

        /// Creates a modifier.
        public init(set: [(name: String, value: String)] = [], add: [(name: String, value: String)] = [], remove: [String] = []) {
            self.set = set
            self.add = add
            self.remove = remove
        }
    }

    /// A synthetic failure for a fraction of requests.
    public struct FailureInjector: Sendable {
        /// HTTP status (gRPC services answer the mapped gRPC status).
        public var status: Int
        /// The error message.
        public var message: String
        /// Fraction of requests that fail, 0-1.
        public var ratio: Double

        /// Creates an injector.
        public init(status: Int, message: String, ratio: Double) {
            self.status = status
            self.message = message
            self.ratio = ratio
        }
    }

    /// A redirect: parts left nil keep the request's own.
    public struct Redirect: Sendable {
        /// `http` or `https`.
        public var scheme: String?
        /// Host of the new location.
        public var hostname: String?
        /// Port of the new location.
        public var port: Int?
        /// Path of the new location (replaces the whole path).
        public var path: String?
        /// 301, 302, 303, 307 or 308.
        public var statusCode: Int

        /// Creates a redirect.
        public init(scheme: String? = nil, hostname: String? = nil, port: Int? = nil, path: String? = nil, statusCode: Int = 302) {
            self.scheme = scheme
            self.hostname = hostname
            self.port = port
            self.path = path
            self.statusCode = statusCode
        }
    }
}
