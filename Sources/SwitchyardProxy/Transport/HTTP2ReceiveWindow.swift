/// The receive windows the proxy keeps open on its HTTP/2 connections, both ways: enforced on
/// what arrives and given back (WINDOW_UPDATE), a connection's at the end of each read
/// (``HTTP2FrameReader``), a stream's as its exchange takes the bytes.
enum HTTP2ReceiveWindow {
    /// Each stream's window: HTTP/2's initial window (the proxy announces no other).
    static let stream = HTTP2Writer.initialWindow
    /// Each connection's window (HTTP/2's initial connection window; streams' windows bound
    /// what can wait in them).
    static let connection = HTTP2Writer.initialWindow

    /// The WINDOW_UPDATE increment that tops a window with `open` bytes left back up to
    /// `target`, once less than half of it is left; nil while more is.
    static func increment(open: Int, target: Int) -> Int? {
        open <= target / 2 ? target - open : nil
    }
}

/// One stream's receive window as its peer sees it, and the bytes received but not yet taken
/// by the stream's exchange: those stay out of the window until taken.
struct HTTP2StreamReceiveWindow {
    private var open = HTTP2ReceiveWindow.stream
    private var held = 0

    /// A DATA frame took `bytes` of the window (data, padding, pad length).
    mutating func received(_ bytes: Int) {
        open -= bytes
    }

    /// `bytes` received wait, not taken yet.
    mutating func hold(_ bytes: Int) {
        held += bytes
    }

    /// `bytes` that waited were taken.
    mutating func take(_ bytes: Int) {
        held -= bytes
    }

    /// What waited was dropped (nobody will take it; it is not given back either).
    mutating func dropHeld() {
        held = 0
    }

    /// Whether the peer sent more than the window allowed.
    var isOverdrawn: Bool { open < 0 }

    /// The WINDOW_UPDATE increment that tops the window up now, counted as sent; nil while
    /// more than half of it is open.
    mutating func update() -> Int? {
        guard let increment = HTTP2ReceiveWindow.increment(open: open + held, target: HTTP2ReceiveWindow.stream) else { return nil }
        open += increment
        return increment
    }

}
