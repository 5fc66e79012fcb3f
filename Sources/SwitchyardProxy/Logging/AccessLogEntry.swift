import NIOCore
import NIOHTTP1
import SwitchyardCore

/// One request as the access log records it (DESIGN.md §9): who asked what, what they got, and
/// where it went.
struct AccessLogEntry {
    /// The client's address (`ip:port`).
    var client: String
    var method: String
    var authority: String
    /// The request target as received.
    var path: String
    var version: HTTPVersion
    /// The HTTP status the client got, or nil when its connection closed instead.
    var status: Int?
    /// For gRPC, the status in the trailers (the upstream's, or the proxy's answer's).
    var grpcStatus: Int?
    /// The §7 cause, `""` when none.
    var error: ResponseError
    /// The route and backend that took it, as ``text(_:)`` writes refs (nil when routing answered it).
    var route: String?
    var backend: String?
    /// The endpoint it was sent to.
    var endpoint: String?
    /// Body bytes read from the client and written to it.
    var requestBytes: Int
    var responseBytes: Int
    /// From routing to the response's end.
    var durationNanoseconds: UInt64
    /// From sending upstream to the first response byte.
    var upstreamNanoseconds: UInt64?

    /// An entry for `request`, answered by the proxy with `answer` (HTTP status for HTTP, a
    /// 200 with the gRPC status for gRPC).
    init(
        request: RequestHead, client: String, answer: SyntheticError, isGRPC: Bool, error: ResponseError, route: String?,
        backend: String?, endpoint: String?, requestBytes: Int, responseBytes: Int, durationNanoseconds: UInt64,
        upstreamNanoseconds: UInt64?
    ) {
        self.init(
            request: request, client: client, status: isGRPC ? 200 : Int(answer.status.code), grpcStatus: isGRPC ? answer.grpcStatus.rawValue : nil,
            error: error, route: route, backend: backend, endpoint: endpoint, requestBytes: requestBytes, responseBytes: responseBytes,
            durationNanoseconds: durationNanoseconds, upstreamNanoseconds: upstreamNanoseconds)
    }

    /// An entry for `request`.
    init(
        request: RequestHead, client: String, status: Int?, grpcStatus: Int?, error: ResponseError, route: String?, backend: String?,
        endpoint: String?, requestBytes: Int, responseBytes: Int, durationNanoseconds: UInt64, upstreamNanoseconds: UInt64?
    ) {
        self.client = client
        self.method = request.method.rawValue
        self.authority = request.fields.first(name: "host") ?? "-"
        self.path = request.uri
        self.version = request.version
        self.status = status
        self.grpcStatus = grpcStatus
        self.error = error
        self.route = route
        self.backend = backend
        self.endpoint = endpoint
        self.requestBytes = requestBytes
        self.responseBytes = responseBytes
        self.durationNanoseconds = durationNanoseconds
        self.upstreamNanoseconds = upstreamNanoseconds
    }

    /// The line, without its newline.
    func line(_ format: ProxyConfig.AccessLog.Format) -> String {
        switch format {
        case .text: textLine
        case .json: jsonLine
        }
    }

    /// `2026-11-27T08:30:00.123Z 127.0.0.1:5555 "GET web.prod /x HTTP/1.1" 200 grpc_status=- error=- route=… backend=… endpoint=…
    /// request_bytes=0 response_bytes=13 duration_ms=1.234 upstream_ms=0.917`. Fields that do not
    /// apply read `-`; the request line's parts are sanitized so a client cannot forge a line.
    private var textLine: String {
        var line = SwitchyardLogHandler.timestamp() + " " + client + " \""
        line += Self.clean(method) + " " + Self.clean(authority) + " " + Self.clean(path) + " HTTP/\(version.major).\(version.minor)\" "
        line += status.map(String.init) ?? "-"
        line += " grpc_status=" + (grpcStatus.map(String.init) ?? "-")
        line += " error=" + (error == .none ? "-" : error.rawValue)
        line += " route=" + (route.map(Self.clean) ?? "-")
        line += " backend=" + (backend.map(Self.clean) ?? "-")
        line += " endpoint=" + (endpoint.map(Self.clean) ?? "-")
        line += " request_bytes=\(requestBytes) response_bytes=\(responseBytes)"
        line += " duration_ms=" + Self.milliseconds(durationNanoseconds)
        line += " upstream_ms=" + (upstreamNanoseconds.map(Self.milliseconds) ?? "-")
        return line
    }

    private var jsonLine: String {
        func optional(_ value: Int?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        let object: JSONValue = .object([
            ("time", .string(SwitchyardLogHandler.timestamp())),
            ("client", .string(client)),
            ("method", .string(method)),
            ("authority", .string(authority)),
            ("path", .string(path)),
            ("protocol", .string("HTTP/\(version.major).\(version.minor)")),
            ("status", optional(status)),
            ("grpc_status", optional(grpcStatus)),
            ("error", .string(error.rawValue)),
            ("route", text(route)),
            ("backend", text(backend)),
            ("endpoint", text(endpoint)),
            ("request_bytes", .number(Double(requestBytes))),
            ("response_bytes", .number(Double(responseBytes))),
            ("duration_ms", .number(Double(durationNanoseconds) / 1e6)),
            ("upstream_ms", upstreamNanoseconds.map { .number(Double($0) / 1e6) } ?? .null),
        ])
        return object.description
    }

    /// A ref in one word: `group/kind/namespace/name[#section][:port]`, or `default/name`.
    static func text(_ meta: Meta) -> String {
        switch meta {
        case .default(let name): return "default/\(name)"
        case .resource(let r):
            var text = "\(r.group)/\(r.kind)/\(r.namespace)/\(r.name)"
            if let section = r.section { text += "#\(section)" }
            if let port = r.port { text += ":\(port)" }
            return text
        }
    }

    /// `text` with spaces, quotes, backslashes and control bytes escaped (`\x20`).
    private static func clean(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return out
    }

    private static func milliseconds(_ nanoseconds: UInt64) -> String {
        let micros = nanoseconds / 1000
        let fraction = micros % 1000
        return "\(micros / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }

    /// A client's address as the log writes it: `ip:port`, `[ip]:port` for IPv6, `-` when
    /// unknown.
    static func client(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return "-" }
        if case .v6 = address { return "[\(ip)]:\(address.port ?? 0)" }
        return "\(ip):\(address.port ?? 0)"
    }
}
