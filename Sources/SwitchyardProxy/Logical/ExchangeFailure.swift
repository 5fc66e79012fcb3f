import NIOHTTP1

/// Why an exchange ended without its upstream's whole response: the typed cause every stage
/// reports, rendered once into §7's answer (``answer(describe:)``) and the route-backend
/// metric's `error` label (``label``).
enum ExchangeFailure: Equatable, Sendable {
    /// The backend's queue was full, or the backend is in fail-fast (503, `LOAD_SHED`).
    case loadShed(LoadShed)
    /// The request waited the backend's `failfastTimeout` in its queue (504, `FAIL_FAST`).
    case failFast
    /// The endpoint could not be reached (502, `BAD_GATEWAY`).
    case connect(address: String, reason: String)
    /// The upstream closed its connection or reset its stream before the response ended
    /// (502, `BAD_GATEWAY`).
    case upstreamReset
    /// The upstream channel failed (a protocol error) (502, `BAD_GATEWAY`).
    case upstreamError(reason: String)
    /// The request could not be written upstream (a header NIO refuses to send): the proxy's
    /// failure, never the endpoint's (502, `BAD_GATEWAY`).
    case unsendable(reason: String)
    /// A route timeout ran out (504).
    case timeout(RouteTimeout)
    /// The client stopped sending its body for `timeouts.requestBodyIdle` (408,
    /// `REQUEST_BODY_TIMEOUT`).
    case requestBodyTimeout
    /// The client went away (`CANCEL`; nobody is left to answer).
    case cancel

    /// Why a backend shed a request.
    enum LoadShed: Sendable {
        case queueFull
        case inFailFast
    }

    /// Which route bound ran out.
    enum RouteTimeout: Sendable {
        /// `request`: the whole exchange (or a shorter `grpc-timeout`).
        case request
        /// `response`: the response head did not come.
        case response
        /// `idle`: no bytes either way.
        case idle
    }

    /// The metric's `error` label.
    var label: ResponseError {
        switch self {
        case .loadShed: .loadShed
        case .failFast: .failFast
        case .connect, .upstreamReset, .upstreamError, .unsendable: .badGateway
        case .timeout(.request): .requestTimeout
        case .timeout(.response): .responseHeadersTimeout
        case .timeout(.idle): .idleTimeout
        case .requestBodyTimeout: .requestBodyTimeout
        case .cancel: .cancel
        }
    }

    /// The answer the client gets (DESIGN.md §7); `describe` puts a message in its backend's
    /// span (`Service web.prod: <message>`).
    func answer(describe: (String) -> String) -> SyntheticError {
        switch self {
        case .loadShed(.queueFull): .init(status: .serviceUnavailable, grpcStatus: .unavailable, message: describe("service unavailable: queue is full"), cause: label)
        case .loadShed(.inFailFast):
            .init(status: .serviceUnavailable, grpcStatus: .unavailable, message: describe("service unavailable: load shed while in fail-fast"), cause: label)
        case .failFast: .init(status: .gatewayTimeout, grpcStatus: .deadlineExceeded, message: describe("service in fail-fast"), cause: label)
        case .connect(let address, let reason): badGateway(describe("connect to \(address) failed: \(reason)"))
        case .upstreamReset: badGateway(describe("upstream closed the connection before the response ended"))
        case .upstreamError(let reason): badGateway(describe("upstream error: \(reason)"))
        case .unsendable(let reason): badGateway(describe("the request could not be sent upstream: \(reason)"))
        case .timeout(let bound):
            .init(status: .gatewayTimeout, grpcStatus: .deadlineExceeded, message: describe("\(bound) timeout"), cause: label)
        case .requestBodyTimeout:
            .init(status: .requestTimeout, grpcStatus: .deadlineExceeded, message: describe("request body timeout"), cause: label)
        case .cancel:
            // Never sent (nobody is left to answer); rendered as nginx's 499 for completeness.
            .init(status: HTTPResponseStatus(statusCode: 499), grpcStatus: .cancelled, message: describe("client went away"), cause: label)
        }
    }

    /// What the endpoint's log says when the failure is its own (or, for ``unsendable``, the
    /// proxy's).
    var logText: String {
        switch self {
        case .connect(_, let reason): "connect failed: \(reason)"
        case .upstreamReset: "upstream closed the connection before the response ended"
        case .upstreamError(let reason): "upstream error: \(reason)"
        case .unsendable(let reason): "request could not be sent upstream: \(reason)"
        case .timeout(let bound): "\(bound) timeout: the endpoint did not answer in time"
        case .loadShed, .failFast, .requestBodyTimeout, .cancel: "\(label.rawValue)"
        }
    }

    private func badGateway(_ message: String) -> SyntheticError {
        .init(status: .badGateway, grpcStatus: .unavailable, message: message, cause: label)
    }
}
