import NIOCore
import SwitchyardCore

/// The bounds the config does not set (DESIGN.md §13): fixed, documented, and shown by
/// `switchyard check` and `/config` beside the configurable ones.
enum BuiltInLimits {
    /// How long the proxy waits for a TCP connection to an endpoint (then 502).
    static let connectTimeout = TimeAmount.seconds(2)
    /// Idle HTTP/1.1 connections kept per endpoint per event loop; more are closed.
    static let idleConnectionsPerEndpoint = 256
    /// Pipelined HTTP/1.1 request parts a connection may hold while an earlier response is
    /// going; past it the proxy stops reading the connection.
    static let pipelinedParts = 64
    /// An HTTP/1.x head, request line and blank line included (a request's over it: 400, an
    /// upstream response's: 502), and a trailer section.
    static let http1HeaderBytes = 80 * 1024
    /// SETTINGS_MAX_HEADER_LIST_SIZE the proxy announces, and the header block it decodes.
    static let http2HeaderListBytes = 16 * 1024
    /// The HPACK dynamic table a peer's encoder may fill (RFC 7541 §4.2): SETTINGS_HEADER_TABLE_SIZE
    /// at its initial value, which the proxy leaves as it is (a larger size update is the
    /// connection's COMPRESSION_ERROR).
    static let http2HeaderTableBytes = 4_096
    /// SETTINGS_MAX_CONCURRENT_STREAMS the proxy announces to HTTP/2 clients.
    static let http2ConcurrentStreams = 100
    /// Malformed field blocks a client may send on one HTTP/2 connection (each resets its
    /// stream); then GOAWAY ENHANCE_YOUR_CALM and the connection closes (NIO's own stream-error
    /// budget is 200 too, but the proxy's checks are not NIO's).
    static let http2MalformedBlocks = 200
    /// PING and SETTINGS answers an HTTP/2 peer may leave unread (written while its socket
    /// takes no more) before the connection closes as a flood.
    static let http2BufferedControlFrames = 10_000
    /// RST_STREAMs an HTTP/2 client may send in 30 s (rapid reset, CVE-2023-44487); then GOAWAY
    /// ENHANCE_YOUR_CALM and the connection closes.
    static let http2ClientResets = 200
    /// Streams the proxy may reset or refuse for an HTTP/2 client's errors in 30 s (a stream
    /// error costs the proxy a routed request, and the client nothing); then GOAWAY
    /// ENHANCE_YOUR_CALM and the connection closes.
    static let http2StreamErrors = 200
    /// PING, SETTINGS and PRIORITY frames an HTTP/2 peer (a client or an upstream) may send in
    /// 30 s; then GOAWAY ENHANCE_YOUR_CALM and the connection closes.
    static let http2ControlFrames = 200
    /// Empty DATA frames without END_STREAM an HTTP/2 client may send in a row (they cost work
    /// and carry nothing); then GOAWAY ENHANCE_YOUR_CALM.
    static let http2EmptyDataFrames = 1
    /// CONTINUATION frames in a row a header block may have before a connection error
    /// (ENHANCE_YOUR_CALM).
    static let http2ContinuationFrames = 5

    /// Request body bytes an exchange keeps, until its response begins, to send the request
    /// again should the upstream not have processed it (a stale pooled connection, an HTTP/2
    /// stream refused or left out by a GOAWAY); a longer body cannot go again.
    static let replayedBodyBytes = 64 * 1024

    /// How long an idle client connection stays once a drain started.
    static let drainIdle = TimeAmount.seconds(1)

    /// Name and value of each, for `check` and `/config`.
    static var described: [(name: String, value: String)] {
        [
            ("connectTimeout", DurationText.format(.nanoseconds(connectTimeout.nanoseconds))),
            ("idleConnectionsPerEndpointPerLoop", "\(idleConnectionsPerEndpoint)"),
            ("pipelinedParts", "\(pipelinedParts)"),
            ("http1HeaderBytes", "\(http1HeaderBytes)"),
            ("http2HeaderListBytes", "\(http2HeaderListBytes)"),
            ("http2HeaderTableBytes", "\(http2HeaderTableBytes)"),
            ("http2ConcurrentStreams", "\(http2ConcurrentStreams)"),
            ("http2ContinuationFrames", "\(http2ContinuationFrames)"),
            ("http2BufferedControlFrames", "\(http2BufferedControlFrames)"),
            ("http2ClientResets", "\(http2ClientResets)"),
            ("http2ControlFrames", "\(http2ControlFrames)"),
            ("http2StreamErrors", "\(http2StreamErrors)"),
            ("http2EmptyDataFrames", "\(http2EmptyDataFrames)"),
            ("http2MalformedBlocks", "\(http2MalformedBlocks)"),
            ("replayedBodyBytes", "\(replayedBodyBytes)"),
            ("drainIdle", DurationText.format(.nanoseconds(drainIdle.nanoseconds))),
        ]
    }
}
