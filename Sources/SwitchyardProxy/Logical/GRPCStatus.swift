/// A gRPC status code (gRPC's `statuscodes.md`). A struct rather than an enum: an upstream may
/// send any integer, and the metric's `grpc_status` label counts what it sent.
struct GRPCStatus: RawRepresentable, Hashable, Sendable {
    let rawValue: Int

    init(rawValue: Int) { self.rawValue = rawValue }

    /// The status in a `grpc-status` header value, or nil when there is none or it is not a number.
    init?(header: String?) {
        guard let header, let code = Int(header) else { return nil }
        self.rawValue = code
    }

    static let ok = GRPCStatus(rawValue: 0)
    static let cancelled = GRPCStatus(rawValue: 1)
    static let unknown = GRPCStatus(rawValue: 2)
    static let deadlineExceeded = GRPCStatus(rawValue: 4)
    static let notFound = GRPCStatus(rawValue: 5)
    static let permissionDenied = GRPCStatus(rawValue: 7)
    static let unimplemented = GRPCStatus(rawValue: 12)
    static let `internal` = GRPCStatus(rawValue: 13)
    static let unavailable = GRPCStatus(rawValue: 14)
    static let dataLoss = GRPCStatus(rawValue: 15)
    static let unauthenticated = GRPCStatus(rawValue: 16)

    /// Whether a response ending with it counts as a failure for failure accrual (DESIGN.md §5):
    /// UNKNOWN, DEADLINE_EXCEEDED, PERMISSION_DENIED, INTERNAL, UNAVAILABLE, DATA_LOSS.
    var isFailure: Bool {
        switch self {
        case .unknown, .deadlineExceeded, .permissionDenied, .internal, .unavailable, .dataLoss: true
        default: false
        }
    }

    /// The code as a balancer's `observe` hears it: 0...16, and UNKNOWN (2) for any other
    /// integer an upstream sent, as gRPC clients read an unknown code.
    var observed: Int { (0...16).contains(rawValue) ? rawValue : GRPCStatus.unknown.rawValue }

    /// The status gRPC's HTTP mapping gives an HTTP status the proxy answers with itself (a
    /// failure injector's).
    init(httpStatus: Int) {
        switch httpStatus {
        case 400: self = .internal
        case 401: self = .unauthenticated
        case 403: self = .permissionDenied
        case 404: self = .unimplemented
        case 429, 502, 503, 504: self = .unavailable
        default: self = .unknown
        }
    }
}
