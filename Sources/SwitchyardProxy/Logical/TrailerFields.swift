import NIOHTTP1

/// What the proxy forwards of a trailer section (RFC 9110 §6.5.1). A trailer may not frame,
/// route, authenticate or otherwise control the message: those decisions were made on the
/// header section, and a recipient that merges trailers into it (some servers do) would take
/// a trailing `content-length`, `host` or `authorization` as if the client had sent it there.
/// Such fields, and hop-by-hop ones, are dropped from trailers both ways; everything else (gRPC's
/// `grpc-status` and `grpc-message`, a checksum, custom metadata) goes on.
enum TrailerFields {
    /// Names that never travel in a trailer, lowercase.
    private static let dropped: [StaticString] = [
        "content-length", "transfer-encoding", "host", "connection", "keep-alive", "proxy-connection", "te", "trailer",
        "upgrade", "authorization", "proxy-authorization", "proxy-authenticate", "www-authenticate", "cookie", "set-cookie",
        "content-type", "content-encoding", "content-range", "expect", "range", "max-forwards", "cache-control",
        "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range", "location", "retry-after",
        "expires", "age", "vary", "pragma",
    ]

    /// `trailers` without the fields that may not travel there; nil when none are left.
    static func forwarded(_ trailers: HTTPHeaders?) -> HTTPHeaders? {
        guard let trailers, !trailers.isEmpty else { return nil }
        guard trailers.contains(where: { isDropped($0.name) }) else { return trailers }
        let kept = trailers.filter { !isDropped($0.name) }.map { ($0.name, $0.value) }
        return kept.isEmpty ? nil : HTTPHeaders(kept)
    }

    private static func isDropped(_ name: String) -> Bool {
        dropped.contains { HeaderText.equalsIgnoringCase(name.utf8, $0) }
    }
}
