import NIOCore
import NIOHTTP1

/// An exchange's way to its upstream, leased for one request: a pooled HTTP/1.1 connection
/// (``UpstreamHandler``) or one stream of an HTTP/2 connection (``HTTP2UpstreamStream``). The
/// exchange writes its request parts here and hears the response through ``exchange``.
protocol UpstreamStream: AnyObject {
    /// The exchange using it now; nil once that exchange ended (or while it idles in a pool).
    var exchange: Exchange? { get set }
    /// Whether it speaks HTTP/1.1 (the exchange frames the body itself, and the response's
    /// hop-by-hop fields were dropped as it was parsed).
    var isHTTP1: Bool { get }
    /// Whether it can take more of the request now (backpressure on the client's reads).
    var isWritable: Bool { get }
    /// Whether it waited in its endpoint's pool before this exchange and not a byte came back
    /// on it since: its peer may have closed it idle as the request went out, and then never
    /// saw the request.
    var mayBeStale: Bool { get }
    /// Writes a request part, and flushes when asked.
    func write(_ part: HTTPClientRequestPart, flush: Bool)
    /// Flushes the request parts written so far.
    func flush()
    /// Stops or resumes reading the response (backpressure from the client).
    func holdReads(_ hold: Bool)
    /// Gives it up unused: the exchange ended while it was being opened.
    func abandon()
    /// The exchange that used it ended (`clean`: its response was whole, no failure; and
    /// `requestEnded`: the client's request was read to its end). It goes back to
    /// `endpoint`'s pool, ends by itself, or is closed or reset.
    func exchangeEnded(clean: Bool, requestEnded: Bool, endpoint: EndpointRuntime)
}
