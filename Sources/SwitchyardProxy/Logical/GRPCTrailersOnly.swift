import NIOHTTP1

/// gRPC's trailers-only response: a single HEADERS frame holding the status, which an
/// upstream's ``HTTP2UpstreamStream`` delivers as a response head and its end. Downstream the
/// status belongs in the trailers. Only an HTTP/2 upstream's heads are looked at: a gRPC
/// service's backends speak HTTP/2 (``RoutingTable``), and an HTTP/1.1 upstream's
/// `grpc-status` field, in the answer to a plain HTTP request, is forwarded where it came.
enum GRPCTrailersOnly {
    /// The gRPC status fields a response head carries, taken out of it; nil when it carries
    /// none (an ordinary response head).
    static func split(_ head: inout ResponseHead) -> HTTPHeaders? {
        guard head.fields.contains(name: "grpc-status") else { return nil }
        var trailers = HTTPHeaders()
        for name: StaticString in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
            for value in head.fields.values(name: name) { trailers.add(name: name.description, value: value) }
            head.fields.remove(name: name)
        }
        head.fields.remove(name: "content-length")
        return trailers
    }
}
