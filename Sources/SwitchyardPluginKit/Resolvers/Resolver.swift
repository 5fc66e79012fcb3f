/// A metadata resolver a plugin exports (DESIGN.md §4). Conform to ``ServiceResolver``,
/// ``EndpointResolver`` or both; this protocol carries what they share.
///
/// One instance is made per configured use and shared by every thread, hence `Sendable`.
/// Resolvers run when config loads or endpoints change, never per request.
public protocol Resolver: Sendable {
    /// The name config uses, e.g. `k8s-service-name`: `[a-z0-9._-]`, at most 64 bytes.
    static var name: String { get }
    /// One line saying what it answers, shown by `switchyard plugins inspect`.
    static var summary: String { get }
    /// Creates an instance from its config block; throw ``PluginConfigError`` to refuse it.
    /// A resolver without config writes `init(config: PluginConfig) {}`.
    init(config: PluginConfig) throws(PluginConfigError)
}

/// Answers what a service (a parent or a backend, by authority) is.
public protocol ServiceResolver: Resolver {
    /// The metadata of `query`'s service, or nil for "not mine".
    func resolve(service query: ServiceQuery) -> Meta?
}

/// Answers what an endpoint (by address and labels) is.
public protocol EndpointResolver: Resolver {
    /// The metadata of `query`'s endpoint, or nil for "not mine".
    func resolve(endpoint query: EndpointQuery) -> Meta?
}

/// A service a resolver is asked about.
public struct ServiceQuery: Sendable, Hashable {
    /// The authority as configured, e.g. `web.prod.svc.cluster.local:80`.
    public let authority: String
    /// Its host part, e.g. `web.prod.svc.cluster.local`.
    public let host: String
    /// Its port (80 when the authority has none).
    public let port: UInt16

    /// Creates a query (for tests of a resolver).
    public init(authority: String, host: String, port: UInt16) {
        self.authority = authority
        self.host = host
        self.port = port
    }
}

/// An endpoint a resolver is asked about.
public struct EndpointQuery: Sendable, Hashable {
    /// The address as configured, e.g. `127.0.0.1:18081`.
    public let address: String
    /// Its host part, e.g. `127.0.0.1`.
    public let host: String
    /// Its port.
    public let port: UInt16
    /// Its labels, e.g. `["dst_pod": "web-0", "dst_namespace": "prod"]`.
    public let labels: [String: String]

    /// Creates a query (for tests of a resolver).
    public init(address: String, host: String, port: UInt16, labels: [String: String]) {
        self.address = address
        self.host = host
        self.port = port
        self.labels = labels
    }
}
