import NIOCore
import NIOHTTP1

/// What an ``Exchange`` keeps of its request's body and end to send them again, should the
/// upstream not have processed it (``UnansweredRequest``): the body bytes copied into one buffer
/// of its own (holding the client's read buffers would make its channel allocate new ones), and
/// the end's trailers, up to ``BuiltInLimits/replayedBodyBytes``. Past that the request cannot
/// go again, as in Linkerd (64 KiB) and Envoy (its request buffer limit).
///
/// The head needs no copy (the exchange keeps it); a request without body bytes costs nothing.
struct RequestReplay {
    /// Whether a body is kept at all: a request whose method and upstream could never let it
    /// go again keeps none.
    private let keepsBody: Bool
    /// Whether everything after the head is here (false once a body part went past the bound,
    /// or came when no body is kept).
    private(set) var isWhole = true
    private var body: ByteBuffer?
    private var trailers: HTTPHeaders?

    init(keepsBody: Bool) {
        self.keepsBody = keepsBody
    }

    /// A part went upstream (or waits to): keep what a second attempt would need.
    mutating func record(_ part: RequestPart) {
        switch part {
        case .head:
            break
        case .body(let bytes):
            guard isWhole, bytes.readableBytes > 0 else { return }
            var kept = body ?? ByteBuffer()
            body = nil  // unshared while it grows
            guard keepsBody, kept.readableBytes + bytes.readableBytes <= BuiltInLimits.replayedBodyBytes else {
                isWhole = false
                return
            }
            kept.writeImmutableBuffer(bytes)
            body = kept
        case .end(let trailers):
            if isWhole { self.trailers = trailers }
        }
    }

    /// Lets the body go: the response began, and nothing will go again.
    mutating func discard() {
        isWhole = false
        body = nil
        trailers = nil
    }

    /// The parts that follow the head on a second attempt: the body (if any) and the end.
    var parts: CircularBuffer<RequestPart> {
        var parts = CircularBuffer<RequestPart>(initialCapacity: 2)
        if let body { parts.append(.body(body)) }
        parts.append(.end(trailers))
        return parts
    }
}
