import NIOCore
import NIOHTTP2

/// One HTTP/2 connection to an endpoint, on one event loop: every request is a stream
/// (``HTTP2UpstreamStream``) of its ``HTTP2UpstreamConnection``.
final class HTTP2Upstream {
    /// Strong, as a weak reference would give the endpoint a side table (and each retain of it
    /// the slow path): a connect under way keeps a retired endpoint until it completes, and
    /// the endpoint lets go of this connection when it closes (``EndpointRuntime/http2Closed(_:)``).
    private let endpoint: EndpointRuntime
    private let address: SocketAddress
    /// The endpoint's address as the config wrote it (for connect errors).
    private let authority: String
    private let connector: UpstreamConnector
    private var connection: HTTP2UpstreamConnection?
    private var channel: Channel?
    private var waiting: [Exchange] = []
    private var connecting = false
    /// Whether its upstream said GOAWAY: the connection closes once its last stream finishes.
    private var wentAway = false
    /// Whether its endpoint asked it to close (a retire): a connection still being made closes
    /// as soon as it is up and has no stream.
    private var closing = false

    init(endpoint: EndpointRuntime) {
        self.endpoint = endpoint
        self.address = endpoint.socketAddress
        self.authority = endpoint.addressText
        self.connector = endpoint.connector
    }

    func openStream(for exchange: Exchange, retried: Bool = false) {
        guard let connection, let channel else {
            waiting.append(exchange)
            if !connecting { connect(on: exchange.eventLoop) }
            return
        }
        // The connection's socket closed in this pass, before its close future said so, it
        // ran out of stream IDs, or its upstream's GOAWAY is being read (a request the GOAWAY
        // left out goes again from inside it): it is forgotten now, and the exchange goes to
        // the endpoint's next connection, once; then it fails.
        guard connection.acceptsStreams else {
            if channel.isActive { peerSaidGoAway(connection) } else { closed(channel) }
            if !retried {
                endpoint.openHTTP2Stream(for: exchange, retried: true)
            } else {
                exchange.fail(.connect(address: authority, reason: "the HTTP/2 connection closed before the stream was made"))
            }
            return
        }
        exchange.attach(connection.makeStream())
    }

    /// Closes the connection (its table was replaced and no stream is left), or, while it is
    /// being made, once it is up and its last stream finishes.
    func close() {
        closing = true
        channel?.close(promise: nil)
    }

    /// The upstream sent GOAWAY on `connection`: no new stream goes on it (streams open on it
    /// finish there, then it closes), and the endpoint's next request opens a new connection.
    func peerSaidGoAway(_ connection: HTTP2UpstreamConnection) {
        guard self.connection === connection, !wentAway else { return }
        wentAway = true
        endpoint.http2WentAway(self)
        if connection.liveStreams == 0 { channel?.close(promise: nil) }
    }

    /// A stream on `connection` finished.
    func streamFinished(on connection: HTTP2UpstreamConnection) {
        if wentAway || closing, self.connection === connection, connection.liveStreams == 0 { channel?.close(promise: nil) }
    }

    /// `channel` closed.
    private func closed(_ channel: Channel) {
        guard self.channel === channel else { return }
        self.channel = nil
        connection = nil
        endpoint.http2Closed(self)
    }

    private func connect(on eventLoop: EventLoop) {
        connecting = true
        connector.connectHTTP2(address, eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                self.connecting = false
                let waiting = self.waiting
                self.waiting = []
                do {
                    let channel = try result.get()
                    let connection = try channel.pipeline.syncOperations.handler(type: HTTP2UpstreamConnection.self)
                    connection.owner = self
                    var active = false
                    connection.whenActive {
                        active = true
                        self.connection = connection
                        self.channel = channel
                        for exchange in waiting { self.openStream(for: exchange) }
                        if self.closing, connection.liveStreams == 0 { channel.close(promise: nil) }
                    }
                    channel.closeFuture.assumeIsolated().whenComplete { _ in
                        guard active else {
                            // It closed before it was up: nobody else will serve these.
                            self.endpoint.http2Closed(self)
                            for exchange in waiting { exchange.fail(.connect(address: self.authority, reason: "the connection closed as it opened")) }
                            return
                        }
                        self.closed(channel)
                    }
                } catch {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    self.endpoint.http2Closed(self)
                    for exchange in waiting { exchange.fail(.connect(address: self.authority, reason: Exchange.reason(error))) }
                }
            }
    }
}
