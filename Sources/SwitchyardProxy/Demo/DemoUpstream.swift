import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP/1.1 server for `switchyard demo`: answers every request with
/// `hello from <name>`, after an optional delay (the demo's slow endpoint).
public final class DemoUpstream: Sendable {
    private let channel: Channel

    /// Starts serving `name` on `address` from `group`.
    public static func start(name: String, host: String, port: Int, delay: TimeAmount, group: EventLoopGroup) async throws -> DemoUpstream {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(name: name, delay: delay))
                }
            }
            .bind(host: host, port: port)
            .get()
        return DemoUpstream(channel: channel)
    }

    private init(channel: Channel) { self.channel = channel }

    /// Stops listening.
    public func stop() async { try? await channel.close() }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let body: String
        let delay: TimeAmount
        var keepAlive = true

        init(name: String, delay: TimeAmount) {
            self.body = "hello from \(name)\n"
            self.delay = delay
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): keepAlive = head.isKeepAlive
            case .body: break
            case .end:
                if delay > .zero {
                    context.eventLoop.assumeIsolated().scheduleTask(in: delay) { self.respond(context: context) }
                } else {
                    respond(context: context)
                }
            }
        }

        private func respond(context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/plain")
            headers.add(name: "content-length", value: String(body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            let keepAlive = self.keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}
