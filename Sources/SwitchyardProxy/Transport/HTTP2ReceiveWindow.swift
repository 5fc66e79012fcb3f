import NIOHTTP2

/// The receive windows the proxy keeps open on its HTTP/2 connections, both ways. NIO's HTTP/2
/// handler enforces them on what arrives; the proxy gives them back (WINDOW_UPDATE) itself: a
/// connection's as soon as its DATA arrives, a stream's as its exchange takes the bytes.
enum HTTP2ReceiveWindow {
    /// Each stream's window: the initial window the proxy announces (HTTP/2's default unless
    /// ``BuiltInLimits/http2Connection`` sets one).
    static let stream = Int(BuiltInLimits.http2Connection.initialSettings.last { $0.parameter == .initialWindowSize }?.value ?? 65_535)
    /// Each connection's window (HTTP/2's initial connection window; streams' windows bound
    /// what can wait in them).
    static let connection = 65_535

    /// The WINDOW_UPDATE increment that tops a window with `open` bytes left back up to
    /// `target`, once less than half of it is left; nil while more is.
    static func increment(open: Int, target: Int) -> Int? {
        open <= target / 2 ? target - open : nil
    }
}
