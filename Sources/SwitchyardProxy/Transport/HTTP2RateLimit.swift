import NIOCore

/// A bound on how often a peer may do something cheap for it and costly for the proxy (reset
/// streams, send PINGs or SETTINGS): at most `limit` events in each `window`, counted in
/// fixed windows from the first event of each.
struct HTTP2RateLimit {
    /// The window every limit counts in.
    static let window = TimeAmount.seconds(30)

    let limit: Int
    private var count = 0
    private var windowStart: NIODeadline?

    init(limit: Int) {
        self.limit = limit
    }

    /// Records an event at `now`; false once the window holds more than `limit`.
    mutating func record(now: NIODeadline) -> Bool {
        if let start = windowStart, now - start < Self.window {
            count += 1
        } else {
            windowStart = now
            count = 1
        }
        return count <= limit
    }
}
