import NIOCore
import NIOHTTP1
import NIOHTTP2

/// One HTTP/2 connection to an endpoint, on one event loop: every request is a stream.
final class HTTP2Upstream {
    /// Weak: a connect under way may outlive a retired endpoint.
    private weak var endpoint: EndpointRuntime?
    private let address: SocketAddress
    /// The endpoint's address as the config wrote it (for connect errors).
    private let authority: String
    private let connector: UpstreamConnector
    private var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    private var channel: Channel?
    private var waiting: [Exchange] = []
    private var connecting = false
    /// Streams open on the connection, and whether its upstream said GOAWAY: a connection
    /// that said GOAWAY closes once its last stream does.
    private var openStreams = 0
    private var wentAway = false

    init(endpoint: EndpointRuntime) {
        self.endpoint = endpoint
        self.address = endpoint.socketAddress
        self.authority = endpoint.addressText
        self.connector = endpoint.connector
    }

    func openStream(for exchange: Exchange, retried: Bool = false) {
        guard let multiplexer else {
            waiting.append(exchange)
            if !connecting { connect(on: exchange.eventLoop) }
            return
        }
        let promise = exchange.eventLoop.makePromise(of: Channel.self)
        multiplexer.createStreamChannel(promise: promise) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                try stream.pipeline.syncOperations.addHandler(UpstreamHandler())
            }
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            do {
                let stream = try result.get()
                // The connection's socket closed in this pass, before its close future said so:
                // the stream would never be carried (and the exchange would wait for good). The
                // connection is forgotten now, and the exchange goes to the endpoint's next one,
                // once; then it fails.
                guard stream.isActive else {
                    stream.close(promise: nil)
                    if let channel = self.channel { self.closed(channel) }
                    if !retried, let endpoint = self.endpoint {
                        endpoint.openHTTP2Stream(for: exchange, retried: true)
                    } else {
                        exchange.fail(.connect(address: self.authority, reason: "the HTTP/2 connection closed before the stream was made"))
                    }
                    return
                }
                let handler = try stream.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                self.openStreams += 1
                stream.closeFuture.assumeIsolated().whenComplete { [weak self] _ in self?.streamClosed() }
                exchange.attach(UpstreamConnection(channel: stream, handler: handler, isPooled: false))
            } catch {
                exchange.fail(.connect(address: self.authority, reason: Exchange.reason(error)))
            }
        }
    }

    /// Closes the connection (its table was replaced and no stream is left).
    func close() {
        channel?.close(promise: nil)
    }

    /// The upstream sent GOAWAY on `channel`: no new stream goes on it (streams open on it
    /// finish there, then it closes), and the endpoint's next request opens a new connection.
    private func peerSaidGoAway(_ channel: Channel) {
        guard self.channel === channel, !wentAway else { return }
        wentAway = true
        multiplexer = nil
        endpoint?.http2WentAway(self)
        if openStreams == 0 { channel.close(promise: nil) }
    }

    private func streamClosed() {
        openStreams -= 1
        if wentAway, openStreams == 0 { channel?.close(promise: nil) }
    }

    /// `channel` closed.
    private func closed(_ channel: Channel) {
        guard self.channel === channel else { return }
        self.channel = nil
        multiplexer = nil
        endpoint?.http2Closed(self)
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
                    let pipeline = channel.pipeline.syncOperations
                    self.multiplexer = try pipeline.handler(type: NIOHTTP2Handler.self).syncMultiplexer()
                    self.channel = channel
                    try pipeline.addHandler(UpstreamGoAwayWatcher { [weak self] in self?.peerSaidGoAway(channel) })
                    channel.closeFuture.assumeIsolated().whenComplete { [weak self] _ in self?.closed(channel) }
                    for exchange in waiting { self.openStream(for: exchange) }
                } catch {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    self.endpoint?.http2Closed(self)
                    for exchange in waiting { exchange.fail(.connect(address: self.authority, reason: Exchange.reason(error))) }
                }
            }
    }
}
