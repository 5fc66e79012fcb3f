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

    /// What one of NIO's HTTP/2 user events means to a connection's handler.
    enum StreamEvent {
        /// A window changed (a connection window that fell to half was topped up).
        case window
        /// A stream closed.
        case closed(StreamClosedEvent)
    }

    /// Reads one of NIO's HTTP/2 user events for a connection's handler: a connection window
    /// that fell to half is topped up through `send` (window changes come with every DATA
    /// frame each way, so they are tried first). Nil for any other event.
    static func read(_ event: Any, send: (HTTP2Frame) -> Void) -> StreamEvent? {
        // The type is compared first: a cast that fails takes the runtime's slow, general path.
        let type = type(of: event)
        if type == NIOHTTP2WindowUpdatedEvent.self, let window = event as? NIOHTTP2WindowUpdatedEvent {
            if window.streamID == .rootStream, let open = window.inboundWindowSize, let increment = increment(open: open, target: connection) {
                send(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)))
            }
            return .window
        }
        guard type == StreamClosedEvent.self, let closed = event as? StreamClosedEvent else { return nil }
        return .closed(closed)
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

    /// The WINDOW_UPDATE that tops stream `id`'s window up now, counted as sent; nil while
    /// more than half of it is open.
    mutating func update(for id: HTTP2StreamID) -> HTTP2Frame? {
        update().map { HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: $0)) }
    }
}
