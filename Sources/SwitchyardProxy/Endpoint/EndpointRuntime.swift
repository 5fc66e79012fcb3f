import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import SwitchyardCore
import SwitchyardPluginHost

/// One endpoint of a backend on one event loop: its load (in-flight count and peak-EWMA RTT)
/// and its upstream connections, a pool of keep-alive HTTP/1.1 connections or one HTTP/2
/// connection multiplexing every request.
final class EndpointRuntime {
    let index: Int
    let config: RoutingTable.Endpoint
    let proto: ServiceProtocol
    let socketAddress: SocketAddress
    let eventLoop: EventLoop
    /// The shared breaker, when the backend has failure accrual.
    let health: EndpointHealth?
    /// Logs inside `service{..}:endpoint{..}`.
    let logger: Logger
    weak var backend: BackendRuntime?
    private(set) var ewma: PeakEwma
    private(set) var inFlight = 0
    /// Pooled HTTP/1.1 connections, oldest first (the newest is reused first).
    private var idle: [UpstreamConnection] = []
    /// How long a pooled connection may wait for its next request.
    private let upstreamIdle: TimeAmount
    /// Closes pooled connections that waited `upstreamIdle`; armed while the pool holds any.
    private var idleSweep: Scheduled<Void>?
    private var http2: HTTP2Upstream?
    /// HTTP/2 connections whose upstream said GOAWAY: their open streams finish, and a retire
    /// closes them if the upstream has not.
    private var drainingHTTP2: [HTTP2Upstream] = []
    /// Set when a reload replaced its table: nothing is pooled any more.
    private var retired = false

    init(
        index: Int, config: RoutingTable.Endpoint, loadModel: LoadModel, proto: ServiceProtocol, health: EndpointHealth?,
        upstreamIdle: TimeAmount, logger: Logger, eventLoop: EventLoop
    ) throws {
        self.upstreamIdle = upstreamIdle
        self.logger = logger
        self.index = index
        self.config = config
        self.proto = proto
        self.health = health
        self.eventLoop = eventLoop
        self.socketAddress = try SocketAddress.makeAddressResolvingHost(config.address.host, port: Int(config.address.port))
        self.ewma = PeakEwma(defaultRtt: loadModel.defaultRtt, decay: loadModel.decay, now: NIODeadline.now().uptimeNanoseconds)
    }

    /// Takes a request: counts it in flight, then leases it an upstream channel.
    func start(_ exchange: Exchange) {
        inFlight += 1
        backend?.publishLoad(self)
        exchange.state = .connecting(self)
        if proto == .http1 {
            if let connection = idle.popLast() {
                exchange.attach(connection)
            } else {
                connectHTTP1(for: exchange)
            }
        } else {
            if http2 == nil { http2 = HTTP2Upstream(endpoint: self) }
            http2!.openStream(for: exchange)
        }
    }

    /// The breaker let the endpoint back in (or took it out): tell this loop's balancer.
    func setReady(_ ready: Bool) {
        backend?.setReady(self, ready)
    }

    /// A request's response ended (or failed): it is no longer in flight.
    func requestFinished() {
        inFlight -= 1
        backend?.publishLoad(self)
        if retired, inFlight == 0 { http2?.close() }
    }

    /// Its table was replaced: close idle connections now, the HTTP/2 connection once its
    /// last stream ends, and every HTTP/1.1 connection as its request ends. Its breaker (the
    /// new table has its own) stops reporting to it.
    func retire() {
        retired = true
        health?.unregister(self)
        for connection in idle { connection.channel.close(promise: nil) }
        for upstream in drainingHTTP2 { upstream.close() }
        idle.removeAll()
        idleSweep?.cancel()
        idleSweep = nil
        if inFlight == 0 { http2?.close() }
    }

    /// Folds a round-trip time into the endpoint's peak-EWMA.
    func observe(rttNanoseconds: UInt64, now: UInt64) {
        ewma.observe(rttNanoseconds: rttNanoseconds, now: now)
        backend?.publishLoad(self)
    }

    /// Returns a finished HTTP/1.1 connection to the pool.
    func release(_ connection: UpstreamConnection) {
        guard !retired, connection.isPooled, connection.channel.isActive, idle.count < BuiltInLimits.idleConnectionsPerEndpoint else {
            connection.channel.close(promise: nil)
            return
        }
        connection.idleSince = .now()
        idle.append(connection)
        armIdleSweep()
    }

    private func armIdleSweep() {
        guard idleSweep == nil, let oldest = idle.first else { return }
        idleSweep = eventLoop.assumeIsolated().scheduleTask(deadline: oldest.idleSince + upstreamIdle) { [weak self] in
            self?.closeIdleConnections()
        }
    }

    /// Closes the pooled connections that waited `upstreamIdle`, then waits for the next oldest.
    private func closeIdleConnections() {
        idleSweep = nil
        let cutoff = NIODeadline.now() - upstreamIdle
        while let oldest = idle.first, oldest.idleSince <= cutoff {
            idle.removeFirst()
            oldest.channel.close(promise: nil)
        }
        armIdleSweep()
    }

    private func forget(_ channel: Channel) {
        idle.removeAll { $0.channel === channel }
    }

    private func connectHTTP1(for exchange: Exchange) {
        let eventLoop = exchange.eventLoop
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(BuiltInLimits.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(to: socketAddress)
            .assumeIsolated()
            .whenComplete { result in
                do {
                    let channel = try result.get()
                    let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                    handler.onClose = { [weak self] in self?.forget(channel) }
                    exchange.attach(UpstreamConnection(channel: channel, handler: handler, isPooled: true))
                } catch {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    exchange.connectFailed(error)
                }
            }
    }

    /// `upstream`'s connection went away (or will take no new stream): the next request
    /// opens a new one.
    func http2Closed(_ upstream: HTTP2Upstream) {
        if http2 === upstream { http2 = nil }
        drainingHTTP2.removeAll { $0 === upstream }
    }

    /// `upstream`'s peer said GOAWAY: the next request opens a new connection; this one is
    /// kept (to close on a retire) until it closes.
    func http2WentAway(_ upstream: HTTP2Upstream) {
        guard http2 === upstream else { return }
        http2 = nil
        drainingHTTP2.append(upstream)
    }
}

/// One HTTP/2 connection to an endpoint, on one event loop: every request is a stream.
final class HTTP2Upstream {
    /// Weak: a connect under way may outlive a retired endpoint.
    private weak var endpoint: EndpointRuntime?
    private let address: SocketAddress
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
    }

    func openStream(for exchange: Exchange) {
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
                let handler = try stream.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                self.openStreams += 1
                stream.closeFuture.assumeIsolated().whenComplete { [weak self] _ in self?.streamClosed() }
                exchange.attach(UpstreamConnection(channel: stream, handler: handler, isPooled: false))
            } catch {
                exchange.connectFailed(error)
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
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(BuiltInLimits.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GoAwayCloser(isClient: true))
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: BuiltInLimits.http2Connection, streamConfiguration: .init()
                    ) { stream in stream.close() }  // the upstream may not open streams
                }
            }
            .connect(to: address)
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
                    for exchange in waiting { exchange.connectFailed(error) }
                }
            }
    }
}
