import NIOCore
import NIOHTTP1

/// A response head as the proxy forwards it: an upstream's (HTTP/1.1 or HTTP/2) or one of its
/// own, on its way to a client of either version. Its fields stay checked lines
/// (``FieldLines``) from the upstream's parser to the client's encoder.
struct ResponseHead: Equatable, Sendable {
    var version: HTTPVersion
    var status: HTTPResponseStatus
    var fields: FieldLines

    init(version: HTTPVersion, status: HTTPResponseStatus, fields: FieldLines = FieldLines()) {
        self.version = version
        self.status = status
        self.fields = fields
    }
}

/// A part of a response an upstream sends: its head, body bytes, its end with any trailers.
typealias UpstreamResponsePart = HTTPPart<ResponseHead, ByteBuffer>

/// A part of a response the proxy writes to an HTTP/1.x client.
typealias ClientResponsePart = HTTPPart<ResponseHead, IOData>
