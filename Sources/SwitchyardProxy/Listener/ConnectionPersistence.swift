import NIOHTTP1

/// Whether an HTTP/1.x client connection stays open after a response, and the `Connection`
/// header the response carries to say so (RFC 9112 §9.3, §9.6). `close` while draining; when an
/// HTTP/1.0 response's end can only be marked by closing; after a `CONNECT` or a request that
/// asked to switch protocols (the proxy neither tunnels nor switches: what the client sends
/// next may be another protocol's, RFC 9110 §7.8); and after an HTTP/1.0 request with a
/// `transfer-encoding` (RFC 9112 §6.1: its framing is faulty). `keep-alive` for an HTTP/1.0
/// client that asked to keep the connection. HTTP/2 streams have no say: nil, nothing to add.
///
/// Made from the request as the client sent it, in one pass over its fields, and kept until
/// its response ended in place of the head (an idle keep-alive connection keeps neither).
struct ConnectionPersistence {
    /// The request's method: how its response is framed (a HEAD's has no body).
    let method: HTTPMethod
    private let version: HTTPVersion
    /// A `CONNECT`, or a request with an `upgrade` field.
    private let endsConnection: Bool
    /// Whether the request had a `transfer-encoding`.
    private let hasCoding: Bool
    /// Whether the request leaves the connection open (RFC 9112 §9.3), as NIO's `isKeepAlive`
    /// reads it (``HopByHop/Tally/keepsAlive(version:)``).
    let requestKeepsAlive: Bool

    init(request: RequestHead) {
        var tally = HopByHop.Tally()
        var upgrade = false
        var coding = false
        request.fields.forEach { name, value in
            if HeaderText.equalsIgnoringCase(name, "connection") {
                tally.noteConnection(value)
            } else if HeaderText.equalsIgnoringCase(name, "upgrade") {
                upgrade = true
            } else if HeaderText.equalsIgnoringCase(name, "transfer-encoding") {
                coding = true
            }
        }
        method = request.method
        version = request.version
        endsConnection = upgrade || request.method.isCONNECT
        hasCoding = coding
        requestKeepsAlive = tally.keepsAlive(version: request.version)
    }

    /// The `Connection` value to set on `response` (nil: leave it alone) and whether the
    /// connection must close after it.
    func decide(response: ResponseHead, draining: Bool) -> (connection: StaticString?, close: Bool) {
        guard version.major == 1 else { return (nil, false) }
        if draining || endsConnection { return ("close", true) }
        guard version == .http1_0 else { return (nil, false) }
        if hasCoding { return ("close", true) }
        let framed = response.fields.contains(name: "content-length") || response.status == .noContent || response.status == .notModified
        if !framed { return ("close", true) }
        return (requestKeepsAlive ? "keep-alive" : nil, false)
    }
}
