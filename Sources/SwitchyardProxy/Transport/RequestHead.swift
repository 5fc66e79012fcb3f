import NIOCore
import NIOHTTP1

/// A request head as the proxy forwards it: a client's (HTTP/1.x or HTTP/2) on its way to an
/// upstream of either version. Its fields stay checked lines (``FieldLines``) from the client's
/// parser to the upstream's encoder: an HTTP/1.1 head's are a slice of the bytes it came in
/// when they came in that form, and routing, validation and the edits a route makes read and
/// change them there, with no String per field.
struct RequestHead: Equatable, Sendable {
    var version: HTTPVersion
    var method: HTTPMethod
    /// The request target as it came (origin form once validation rewrote an absolute form).
    var uri: String
    var fields: FieldLines

    init(version: HTTPVersion, method: HTTPMethod, uri: String, fields: FieldLines = FieldLines()) {
        self.version = version
        self.method = method
        self.uri = uri
        self.fields = fields
    }
}

/// A part of a request a client sends and the proxy forwards: its head, body bytes, its end
/// with any trailers.
typealias RequestPart = HTTPPart<RequestHead, ByteBuffer>
