import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardCore

/// The admin port (DESIGN.md §11): `/live`, `/ready`, `/metrics`, `/plugins`, `/config` and
/// `/log-level`, on an event loop of its own so it answers however busy the proxy is.
public final class AdminServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    /// Starts listening on `address`; logs `admin listening on HOST:PORT`.
    public static func start(address: Authority, state: AdminState, logger: Logger) async throws -> AdminServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(AdminHandler(state: state, logger: logger))
                    }
                }
                .bind(host: address.host, port: Int(address.port))
                .get()
            logger.info("admin listening on \(address.host):\(channel.localAddress?.port ?? 0)")
            return AdminServer(group: group, channel: channel)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(group: MultiThreadedEventLoopGroup, channel: Channel) {
        self.group = group
        self.channel = channel
    }

    /// Stops listening and shuts its event loop down.
    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Answers one admin request at a time on a connection.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: AdminState
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    /// Largest request body taken (a level name is a few bytes).
    private static let bodyLimit = 4096

    init(state: AdminState, logger: Logger) {
        self.state = state
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var bytes):
            if body.readableBytes + bytes.readableBytes <= Self.bodyLimit { body.writeBuffer(&bytes) }
        case .end:
            guard let head else { return }
            self.head = nil
            let answer = answer(head, body: body.getString(at: body.readerIndex, length: body.readableBytes) ?? "", peer: context.channel.remoteAddress)
            write(answer, for: head, context: context)
        }
    }

    /// An admin response.
    struct Answer {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]
        var headers: [(String, String)] = []

        init(_ status: HTTPResponseStatus, _ text: String) {
            self.status = status
            self.body = Array(text.utf8)
        }

        static func json(_ value: JSONValue) -> Answer {
            var answer = Answer(.ok, value.description + "\n")
            answer.contentType = "application/json"
            return answer
        }
    }

    private func answer(_ head: HTTPRequestHead, body: String, peer: SocketAddress?) -> Answer {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let methods: [HTTPMethod] = path == "/log-level" ? [.GET, .HEAD, .PUT] : [.GET, .HEAD]
        let known = ["/", "/state", "/live", "/ready", "/metrics", "/plugins", "/config", "/log-level"]
        guard known.contains(path) else { return Answer(.notFound, "not found: \(path)\n") }
        guard methods.contains(head.method) else {
            var answer = Answer(.methodNotAllowed, "method not allowed\n")
            answer.headers = [("allow", methods.map(\.rawValue).joined(separator: ", "))]
            return answer
        }
        if !["/live", "/ready", "/metrics"].contains(path),
            !AdminAccess.hostAllowed(head.headers.first(name: "host"), adminHost: state.table?.config.admin.host ?? "")
        {
            return Answer(.forbidden, "this page answers only a Host that is an address, localhost or the admin address\n")
        }
        switch path {
        case "/":
            var answer = Answer(.ok, DashboardPage.html)
            answer.contentType = "text/html; charset=utf-8"
            return answer
        case "/state":
            guard let json = state.stateJSON else { return Answer(.serviceUnavailable, "not ready\n") }
            return .json(json)
        case "/live":
            return Answer(.ok, "live\n")
        case "/ready":
            return state.isReady ? Answer(.ok, "ready\n") : Answer(.serviceUnavailable, "not ready\n")
        case "/metrics":
            guard state.table != nil else { return Answer(.serviceUnavailable, "not ready\n") }
            var answer = Answer(.ok, "")
            answer.body = state.exporter.exposition()
            answer.contentType = "text/plain; version=0.0.4; charset=utf-8"
            return answer
        case "/plugins":
            guard let table = state.table else { return Answer(.serviceUnavailable, "not ready\n") }
            return .json(table.registry.pluginsJSON)
        case "/config":
            guard let table = state.table else { return Answer(.serviceUnavailable, "not ready\n") }
            return .json(state.configJSON(table))
        default:  // /log-level
            guard head.method == .PUT else { return Answer(.ok, "\(state.logLevel.level)\n") }
            guard AdminAccess.mayChange(from: peer) else {
                logger.warning("refused a log-level change from \(peer.map { "\($0)" } ?? "an unknown peer"): only loopback peers may change it")
                return Answer(.forbidden, "the log level may be changed only from localhost\n")
            }
            guard let level = LogLevelControl.parse(body) else {
                return Answer(.badRequest, "'\(body)' is not one of trace, debug, info, notice, warning, error, critical\n")
            }
            // Logged under whichever of the two levels is more verbose, so the line shows.
            let previous = state.logLevel.level
            if level > previous { logger.info("log level changed from \(previous) to \(level)") }
            state.logLevel.level = level
            if level <= previous { logger.info("log level changed from \(previous) to \(level)") }
            return Answer(.ok, "\(level)\n")
        }
    }

    private func write(_ answer: Answer, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: answer.contentType)
        headers.add(name: "content-length", value: String(answer.body.count))
        for (name, value) in answer.headers { headers.add(name: name, value: value) }
        if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: answer.status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
        }
        let keepAlive = request.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
