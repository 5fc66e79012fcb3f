import NIOCore
import NIOHTTP1

/// An exchange's way to its upstream, leased for one request: a pooled HTTP/1.1 connection
/// (``UpstreamHandler``) or one stream of an HTTP/2 connection (``HTTP2UpstreamStream``). The
/// exchange writes its request parts here and hears the response through ``exchange``.
protocol UpstreamStream: AnyObject {
    /// The exchange using it now; nil once that exchange ended (or while it idles in a pool).
    var exchange: Exchange? { get set }
    /// Whether it speaks HTTP/1.1: the exchange frames the body itself. (Either kind drops a
    /// response's hop-by-hop fields as it parses the head.)
    var isHTTP1: Bool { get }
    /// Whether it can take more of the request now (backpressure on the client's reads).
    var isWritable: Bool { get }
    /// What the upstream may have done with the request, once this went away before any of
    /// the response came: whether the request may go again.
    var unanswered: UnansweredRequest { get }
    /// Writes a request part, and flushes when asked.
    func write(_ part: RequestPart, flush: Bool)
    /// Flushes the request parts written so far.
    func flush()
    /// Stops or resumes reading the response (backpressure from the client).
    func holdReads(_ hold: Bool)
    /// Gives it up unused: the exchange ended while it was being opened.
    func abandon()
    /// The exchange that used it ended (`clean`: its response was whole, no failure; and
    /// `requestEnded`: the client's request was read to its end) at `now`. It goes back to
    /// `endpoint`'s pool, ends by itself, or is closed or reset.
    func exchangeEnded(clean: Bool, requestEnded: Bool, endpoint: EndpointRuntime, now: NIODeadline)
}

/// What an upstream may have done with a request whose connection or stream went away before
/// any of the response came: whether the request may go again (``Exchange``).
enum UnansweredRequest {
    /// It may have processed it: it does not go again.
    case mayHaveProcessed
    /// It most likely never saw it: a pooled HTTP/1.1 connection closed or reset before a
    /// byte came back on it (its peer closed it idle as the request went out, RFC 9112 §9.6).
    /// The request goes again if its method is idempotent (RFC 9110 §9.2.2).
    case likelyNotProcessed
    /// It did not process it, by the protocol's word (RFC 9113 §8.7): the HTTP/2 upstream
    /// refused the stream (REFUSED_STREAM), its GOAWAY's last stream ID is below the stream's,
    /// or the stream's HEADERS never reached the wire. The request goes again whatever its
    /// method.
    case notProcessed
}
