import NIOHTTP1

/// Whether an HTTP/1.x client connection stays open after a response, and the `Connection`
/// header the response carries to say so (RFC 9112 §9.3, §9.6). `close` while draining; when an
/// HTTP/1.0 response's end can only be marked by closing; after a `CONNECT` or a request that
/// asked to switch protocols (the proxy neither tunnels nor switches: what the client sends
/// next may be another protocol's, RFC 9110 §7.8); and after an HTTP/1.0 request with a
/// `transfer-encoding` (RFC 9112 §6.1: its framing is faulty). `keep-alive` for an HTTP/1.0
/// client that asked to keep the connection. HTTP/2 streams have no say: nil, nothing to add.
enum ConnectionPersistence {
    /// The `Connection` value to set on `response` to `request` (nil: leave it alone) and
    /// whether the connection must close after it.
    static func decide(request: RequestHead, response: ResponseHead, draining: Bool) -> (connection: StaticString?, close: Bool) {
        guard request.version.major == 1 else { return (nil, false) }
        if case .CONNECT = request.method { return ("close", true) }
        if draining || request.fields.contains(name: "upgrade") { return ("close", true) }
        guard request.version == .http1_0 else { return (nil, false) }
        if request.fields.contains(name: "transfer-encoding") { return ("close", true) }
        let framed = response.fields.contains(name: "content-length") || response.status == .noContent || response.status == .notModified
        if !framed { return ("close", true) }
        return (HopByHop.keepsAlive(request.fields, version: request.version) ? "keep-alive" : nil, false)
    }
}
