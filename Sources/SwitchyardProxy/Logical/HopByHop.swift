import NIOHTTP1

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded.
enum HopByHop {
    private static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Names a `Connection` header may never remove: the message's length and its authority.
    /// (`transfer-encoding` goes anyway, as hop-by-hop; the proxy frames every body itself.)
    private static let protected: Set<String> = ["host", "content-length"]

    /// Removes hop-by-hop headers and those the `Connection` header names, except framing
    /// headers and `Host`. `te: trailers`, the one TE value HTTP/2 allows and gRPC needs, is kept.
    static func strip(_ headers: inout HTTPHeaders) {
        // Most messages carry none of them: finding that out copies and allocates nothing
        // (a removal copies the headers' storage, and the canonical form builds an array).
        guard names.contains(where: { headers.contains(name: $0) }) else { return }
        let keepsTrailers = headers.first(name: "te")?.lowercased() == "trailers"
        defer { if keepsTrailers { headers.add(name: "te", value: "trailers") } }
        var listed: [String] = []
        for value in headers[canonicalForm: "connection"] {
            let name = value.lowercased()
            if !name.isEmpty, !protected.contains(name) { listed.append(name) }
        }
        for name in names where headers.contains(name: name) {
            headers.remove(name: name)
        }
        for name in listed where headers.contains(name: name) {
            headers.remove(name: name)
        }
    }
}
