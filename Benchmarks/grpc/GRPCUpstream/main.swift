#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

// A gRPC unary upstream for the gRPC benchmark row (Benchmarks/grpc/run.sh): h2c on
// 127.0.0.1:PORT (0: any; the port is printed as `ready PORT`), one event loop. Every stream gets
// `:status 200` with `content-type: application/grpc`, one length-prefixed message echoing the
// request's size, and `grpc-status: 0` trailers, once the request's END_STREAM arrives: the
// work of a trivial unary handler, without a gRPC library's costs in the way of the proxies'.

/// Answers one stream.
final class UnaryResponder: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var received = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            if headers.endStream { respond(context) }
        case .data(let data):
            if case .byteBuffer(let bytes) = data.data { received += bytes.readableBytes }
            if data.endStream { respond(context) }
        default:
            break
        }
    }

    private func respond(_ context: ChannelHandlerContext) {
        let head: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
        context.write(wrapOutboundOut(.headers(.init(headers: head))), promise: nil)
        var message = context.channel.allocator.buffer(capacity: 9)
        message.writeInteger(UInt8(0))
        message.writeInteger(UInt32(4))
        message.writeInteger(UInt32(received))
        context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(message)))), promise: nil)
        let trailers: HPACKHeaders = ["grpc-status": "0"]
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
    }
}

let port = Int(CommandLine.arguments.dropFirst().first ?? "0") ?? 0
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try await ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
            ) { stream in
                stream.eventLoop.makeCompletedFuture { try stream.pipeline.syncOperations.addHandler(UnaryResponder()) }
            }
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .get()
print("ready \(server.localAddress?.port ?? 0)")
fflush(nil)  // flushes every output stream: the script waits for the line
try await server.closeFuture.get()
