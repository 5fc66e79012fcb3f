import NIOHTTP1

/// A response the proxy makes up instead of proxying (DESIGN.md §7): the HTTP status and gRPC
/// status for its cause, the message carried in `switchyard-proxy-error` and the body (or
/// `grpc-message`), and the cause as the route-backend metrics' `error` label counts it.
struct SyntheticError: Error {
    /// HTTP status for HTTP services.
    let status: HTTPResponseStatus
    /// gRPC status code for gRPC services.
    let grpcStatus: Int
    /// The message.
    let message: String
    /// The `error` label of the response it stands for (a failed exchange's cause).
    var cause: ResponseError = .badGateway
    /// Extra headers (a redirect's `location`).
    var headers: [(String, String)] = []

    /// No service for the authority, or no route: 404, NOT_FOUND.
    static func notFound(_ message: String) -> SyntheticError { .init(status: .notFound, grpcStatus: 5, message: message, cause: .none) }
    /// Queue full or gate shut: 503, UNAVAILABLE.
    static func loadShed(_ message: String) -> SyntheticError {
        .init(status: .serviceUnavailable, grpcStatus: 14, message: message, cause: .loadShed)
    }
    /// Waited the failfast timeout in the queue: 504, DEADLINE_EXCEEDED.
    static func failFast(_ message: String) -> SyntheticError {
        .init(status: .gatewayTimeout, grpcStatus: 4, message: message, cause: .failFast)
    }
    /// A fail backend, or an upstream connect or protocol error: 502, UNAVAILABLE.
    static func badGateway(_ message: String) -> SyntheticError {
        .init(status: .badGateway, grpcStatus: 14, message: message, cause: .badGateway)
    }
    /// A route timeout (request, response headers or idle) ran out: 504, DEADLINE_EXCEEDED.
    static func timeout(_ cause: ResponseError, _ message: String) -> SyntheticError {
        .init(status: .gatewayTimeout, grpcStatus: 4, message: message, cause: cause)
    }
    /// The client stopped sending its request body for `timeouts.requestBodyIdle`: 408,
    /// DEADLINE_EXCEEDED. The client connection closes after it.
    static func requestBodyTimeout(_ message: String) -> SyntheticError {
        .init(status: .requestTimeout, grpcStatus: 4, message: message, cause: .requestBodyTimeout)
    }
    /// A request the proxy refuses to forward (malformed or over a limit): 400 or 431,
    /// INTERNAL. The client connection closes after it.
    static func invalidRequest(_ status: HTTPResponseStatus, _ message: String) -> SyntheticError {
        .init(status: status, grpcStatus: 13, message: message, cause: .none)
    }

    /// A configured failure (failure injector): the gRPC status follows gRPC's HTTP mapping.
    static func injected(status: Int, message: String) -> SyntheticError {
        let grpc: Int =
            switch status {
            case 400: 13  // INTERNAL
            case 401: 16  // UNAUTHENTICATED
            case 403: 7  // PERMISSION_DENIED
            case 404: 12  // UNIMPLEMENTED
            case 429, 502, 503, 504: 14  // UNAVAILABLE
            default: 2  // UNKNOWN
            }
        return .init(status: HTTPResponseStatus(statusCode: status), grpcStatus: grpc, message: message, cause: .none)
    }
}
