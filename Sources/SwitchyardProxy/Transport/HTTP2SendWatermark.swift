/// How much of one HTTP/2 stream's outgoing message waits for the peer's window (or for the
/// next flush), against the stream's watermarks (NIO's defaults for its stream channels): a
/// stream above the high one reads as unwritable, so the other side stops reading, until it
/// falls to the low one.
struct HTTP2SendWatermark {
    private static let high = 8192
    private static let low = 4096

    private var queued = 0
    /// False from passing the high watermark until falling to the low one.
    private(set) var isBelow = true

    /// `bytes` of DATA were written on the stream.
    mutating func queued(_ bytes: Int) {
        queued += bytes
        if queued > Self.high { isBelow = false }
    }

    /// `bytes` of the stream's DATA went to the wire; true when that took it back under.
    mutating func sent(_ bytes: Int) -> Bool {
        queued -= bytes
        guard !isBelow, queued <= Self.low else { return false }
        isBelow = true
        return true
    }
}
