import NIOHTTP1

/// How the proxy frames a request body upstream. The client's framing headers are never
/// forwarded as they came: the proxy reads the body with the client's framing and writes it
/// with its own, so what the upstream sees as one request is exactly what the client sent as
/// one request, whatever `Connection` named and whatever the method.
enum RequestBodyFraming: Equatable {
    /// No body: nothing follows the head.
    case none
    /// `content-length: N`.
    case length(Int)
    /// Length unknown until the end: chunked to an HTTP/1.1 upstream, DATA frames to HTTP/2.
    case stream
    /// An HTTP/2 request without `content-length`: decided by its first part (an end at once
    /// is no body, DATA is a stream).
    case undecided

    /// The framing of a client's request head, read before hop-by-hop headers are removed;
    /// nil when its `content-length` is malformed (not one non-negative integer, or values
    /// that disagree: RFC 9110 §8.6).
    init?(clientHead head: HTTPRequestHead) {
        let lengths = head.headers[canonicalForm: "content-length"]
        if let first = lengths.first {
            guard let length = Self.contentLength(first), lengths.allSatisfy({ Self.contentLength($0) == length }) else { return nil }
            self = .length(length)
        } else if head.version.major < 2, head.headers.contains(name: "transfer-encoding") {
            // The HTTP/1.1 parser reads a body only after a final `chunked` and never beside a
            // content-length (validation refuses the rest): a body of unknown length.
            self = .stream
        } else {
            self = .unframed(head.version)
        }
    }

    /// The framing of a request with neither `content-length` nor `transfer-encoding`.
    static func unframed(_ version: HTTPVersion) -> RequestBodyFraming {
        version.major >= 2 ? .undecided : .none
    }

    private static func contentLength(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return Int(text)
    }

    /// Decides an ``undecided`` framing from the request's first part after the head.
    mutating func decide(firstPart part: HTTPServerRequestPart) {
        guard self == .undecided else { return }
        if case .end = part { self = .none } else { self = .stream }
    }

    /// Writes this framing into the head sent upstream (over HTTP/1.1 when `http1`).
    func apply(to headers: inout HTTPHeaders, http1: Bool) {
        // Removing copies the headers: only when there is something to remove.
        if headers.contains(name: "content-length") { headers.remove(name: "content-length") }
        if headers.contains(name: "transfer-encoding") { headers.remove(name: "transfer-encoding") }
        switch self {
        case .length(let length): headers.add(name: "content-length", value: String(length))
        case .stream where http1: headers.add(name: "transfer-encoding", value: "chunked")
        case .stream, .none, .undecided: break
        }
    }
}
