import NIOHTTP1

/// A response the proxy makes up instead of proxying (DESIGN.md §7): the HTTP status and gRPC
/// status for its cause, the message carried in `switchyard-proxy-error` and the body (or
/// `grpc-message`), and the cause as the route-backend metrics' `error` label counts it.
///
/// Routing makes the answers of §7's first rows (no service, no route, filters, `fail`
/// backends); an exchange that fails makes its answer from its ``ExchangeFailure``.
struct SyntheticError: Error {
    /// HTTP status for HTTP services.
    let status: HTTPResponseStatus
    /// gRPC status for gRPC services.
    let grpcStatus: GRPCStatus
    /// The message.
    let message: String
    /// The `error` label of the response it stands for (a failed exchange's cause).
    var cause: ResponseError = .none
    /// Extra headers (a redirect's `location`).
    var headers: [(String, String)] = []

    /// No service for the authority, or no route: 404, NOT_FOUND.
    static func notFound(_ message: String) -> SyntheticError { .init(status: .notFound, grpcStatus: .notFound, message: message) }
    /// No backend of a rule is available: 503, UNAVAILABLE.
    static func noBackend(_ message: String) -> SyntheticError {
        .init(status: .serviceUnavailable, grpcStatus: .unavailable, message: message, cause: .loadShed)
    }
    /// A `fail` backend: 502, UNAVAILABLE.
    static func failBackend(_ message: String) -> SyntheticError {
        .init(status: .badGateway, grpcStatus: .unavailable, message: message, cause: .badGateway)
    }
    /// A request the proxy refuses to forward (malformed or over a limit): 400 or 431,
    /// INTERNAL. The client connection closes after it.
    static func invalidRequest(_ status: HTTPResponseStatus, _ message: String) -> SyntheticError {
        .init(status: status, grpcStatus: .internal, message: message)
    }
    /// A configured failure (failure injector): the gRPC status follows gRPC's HTTP mapping.
    static func injected(status: Int, message: String) -> SyntheticError {
        .init(status: HTTPResponseStatus(statusCode: status), grpcStatus: GRPCStatus(httpStatus: status), message: message)
    }
    /// A redirect filter's answer: its status and `location`.
    static func redirect(status: Int, to location: String) -> SyntheticError {
        .init(status: HTTPResponseStatus(statusCode: status), grpcStatus: .unknown, message: "redirected to \(location)", headers: [("location", location)])
    }
}
