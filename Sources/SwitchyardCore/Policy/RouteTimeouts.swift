/// How long a route's exchanges may take (linkerd's route timeouts). A `nil` bound is off.
///
/// - `request` bounds the whole exchange, from routing to the response's end;
/// - `response` bounds the wait for the response head once the request is dispatched;
/// - `idle` bounds any gap with no bytes in either direction while the exchange is open.
public struct RouteTimeouts: Sendable, Hashable {
    /// The whole exchange. Off by default (gRPC streams may last).
    public var request: Duration?
    /// The wait for response headers. Off by default.
    public var response: Duration?
    /// The longest silence in both directions. 60 s by default.
    public var idle: Duration?

    /// The defaults: request and response off, idle 60 s.
    public static let defaults = RouteTimeouts(request: nil, response: nil, idle: .seconds(60))

    public init(request: Duration? = nil, response: Duration? = nil, idle: Duration? = nil) {
        self.request = request
        self.response = response
        self.idle = idle
    }

    /// These timeouts with a bound written as zero ("off") turned into `nil`.
    public var resolved: RouteTimeouts {
        func off(_ bound: Duration?) -> Duration? { bound == .zero ? nil : bound }
        return RouteTimeouts(request: off(request), response: off(response), idle: off(idle))
    }

    /// These timeouts, each bound that is unset here taken from `fallback`.
    public func over(_ fallback: RouteTimeouts) -> RouteTimeouts {
        RouteTimeouts(request: request ?? fallback.request, response: response ?? fallback.response, idle: idle ?? fallback.idle)
    }
}
