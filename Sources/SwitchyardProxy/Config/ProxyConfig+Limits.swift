import SwitchyardCore

extension ProxyConfig {
    /// Bounds on what clients may hold (`limits:`, DESIGN.md §13).
    public struct Limits: Sendable, Hashable {
        /// Client connections open at once; more are closed as they are accepted (and counted).
        public var connections = 10_000
        /// Header fields in one request; more are answered 431.
        public var requestHeaders = 100

        public init() {}

        init(_ node: ConfigNode) throws(ConfigError) {
            let m = try node.mapping(allowed: ["connections", "requestHeaders"])
            connections = try m["connections"]?.int(1...1_000_000) ?? connections
            requestHeaders = try m["requestHeaders"]?.int(1...10_000) ?? requestHeaders
        }
    }

    /// Client-side and upstream-pool timeouts (`timeouts:`, DESIGN.md §13).
    public struct Timeouts: Sendable, Hashable {
        /// From a connection's first byte (or the end of the previous response) to the end of a
        /// request head. Then the connection closes (408 when an answer can be written).
        public var requestHeader = Duration.seconds(10)
        /// How long an idle client connection (no request in flight) stays open.
        public var keepAlive = Duration.seconds(60)
        /// The longest gap between two reads of a request body.
        public var requestBodyIdle = Duration.seconds(60)
        /// How long a pooled upstream connection waits for its next request before it closes.
        public var upstreamIdle = Duration.seconds(90)

        public init() {}

        init(_ node: ConfigNode) throws(ConfigError) {
            let m = try node.mapping(allowed: ["requestHeader", "keepAlive", "requestBodyIdle", "upstreamIdle"])
            requestHeader = try m["requestHeader"]?.positiveDuration() ?? requestHeader
            keepAlive = try m["keepAlive"]?.positiveDuration() ?? keepAlive
            requestBodyIdle = try m["requestBodyIdle"]?.positiveDuration() ?? requestBodyIdle
            upstreamIdle = try m["upstreamIdle"]?.positiveDuration() ?? upstreamIdle
        }
    }

    /// `timeouts: { request, response, idle }` of a service or route; `0s` turns a bound off
    /// (kept as zero until ``RouteTimeouts/resolved`` so it overrides what it falls back to).
    static func routeTimeouts(_ node: ConfigNode) throws(ConfigError) -> RouteTimeouts {
        let m = try node.mapping(allowed: ["request", "response", "idle"])
        return RouteTimeouts(
            request: try m["request"]?.duration(), response: try m["response"]?.duration(), idle: try m["idle"]?.duration())
    }
}
