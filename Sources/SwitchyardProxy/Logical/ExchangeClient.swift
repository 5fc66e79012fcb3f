import NIOCore
import NIOHTTP1

/// The client side of an ``Exchange``: what the listener's connection (or HTTP/2 stream) does
/// for it. The exchange writes the response through it and says when it is finished; it never
/// sees the connection's own state.
protocol ExchangeClient: AnyObject {
    /// The client's HTTP version: response heads go out in it.
    var version: HTTPVersion { get }
    /// True inside a client read: request parts sent upstream wait for the read-complete's
    /// single flush.
    var isReading: Bool { get }
    /// Whether the client can take more response bytes now.
    var isWritable: Bool { get }
    /// The client's address, `ip:port` (for the access log).
    var clientAddress: String { get }
    /// Now: the time of the client read under way (``ReadClock``), or the clock's outside one.
    func now() -> NIODeadline
    /// Writes a final response head (unflushed).
    func writeResponseHead(_ head: ResponseHead)
    /// Writes response body bytes (unflushed).
    func writeResponseBody(_ bytes: ByteBuffer)
    /// Writes the response's end and flushes.
    func writeResponseEnd(_ trailers: HTTPHeaders?)
    /// Flushes the response parts written so far.
    func flushResponse()
    /// Answers with a synthetic response (DESIGN.md §7).
    func respond(with error: SyntheticError, isGRPC: Bool)
    /// Closes the client's connection (or resets its stream): a response broke off.
    func closeClient()
    /// The exchange is finished at `now`: the next request may go.
    func exchangeFinished(_ exchange: Exchange, at now: NIODeadline)
    /// The exchange can take more of the request body: held reads may resume.
    func resumeReadsIfPossible()
}
