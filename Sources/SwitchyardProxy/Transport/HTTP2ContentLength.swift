/// The DATA bytes an HTTP/2 message's head allows (its `content-length`, or 0 where no body
/// may come), counted down as they arrive, on either side: a message whose DATA does not add
/// up to them is malformed (RFC 9113 §8.1.1). A message without a length is not bounded.
struct HTTP2ContentLength {
    private var remaining: Int?

    init(_ length: Int? = nil) {
        remaining = length
    }

    /// `bytes` of DATA came (0 for a field block), with the message's end when `end`; false
    /// once they went past the length, or the message ended short of it.
    mutating func received(_ bytes: Int, end: Bool) -> Bool {
        guard let left = remaining else { return true }
        remaining = left - bytes
        return left >= bytes && (!end || left == bytes)
    }
}
