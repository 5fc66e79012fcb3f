import NIOHTTP1

/// What the proxy asks of a request's method, matched by case: NIO's `==` copies both methods'
/// payloads (a retain and a release each time, on the request path).
extension HTTPMethod {
    /// The method a request line or a `:method` spells (a token the parser checked): the common
    /// ones without making a String first.
    init(token bytes: UnsafeRawBufferPointer) {
        if HeaderText.equals(bytes, "GET") {
            self = .GET
        } else if HeaderText.equals(bytes, "POST") {
            self = .POST
        } else if HeaderText.equals(bytes, "PUT") {
            self = .PUT
        } else if HeaderText.equals(bytes, "HEAD") {
            self = .HEAD
        } else if HeaderText.equals(bytes, "DELETE") {
            self = .DELETE
        } else {
            self = HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Whether it is `HEAD`.
    var isHEAD: Bool {
        if case .HEAD = self { true } else { false }
    }

    /// Whether it is `CONNECT`.
    var isCONNECT: Bool {
        if case .CONNECT = self { true } else { false }
    }

    /// Whether sending the request twice means what sending it once does (RFC 9110 §9.2.2).
    var isIdempotent: Bool {
        switch self {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: true
        default: false
        }
    }

    /// Whether a request with this method is expected to carry content (RFC 9110 §9.3:
    /// GET, HEAD, DELETE, CONNECT, OPTIONS and TRACE define none).
    var mayCarryBody: Bool {
        switch self {
        case .GET, .HEAD, .DELETE, .CONNECT, .OPTIONS, .TRACE: false
        default: true
        }
    }
}
