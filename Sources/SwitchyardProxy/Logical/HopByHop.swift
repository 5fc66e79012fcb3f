import NIOHTTP1

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded.
enum HopByHop {
    private static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Removes hop-by-hop headers and those the `Connection` header names. `te: trailers`, the
    /// one TE value HTTP/2 allows and gRPC needs, is kept.
    static func strip(_ headers: inout HTTPHeaders) {
        let keepsTrailers = headers.first(name: "te")?.lowercased() == "trailers"
        defer { if keepsTrailers { headers.add(name: "te", value: "trailers") } }
        var listed: [String] = []
        for value in headers[canonicalForm: "connection"] {
            listed.append(value.lowercased())
        }
        for name in names where headers.contains(name: name) {
            headers.remove(name: name)
        }
        for name in listed where !name.isEmpty {
            headers.remove(name: name)
        }
    }
}
