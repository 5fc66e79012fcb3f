import NIOCore
import NIOPosix
import RelayHandlers

// H2Relay: the relay's handlers (../RelayHandlers) on NIO's sockets, event loop and bootstraps,
// the I/O path Switchyard has. See ../README.md.
//
//   H2Relay PORT 127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083

let (port, backends) = relayArguments("H2Relay")
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let pool = UpstreamPool(backends: backends) { address, loop, handler in
    ClientBootstrap(group: loop)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
        }
        .connect(to: address)
        .map { _ in }
}
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RelayConnection(pool: pool, allocator: channel.allocator))
        }
    }
    .bind(host: "127.0.0.1", port: Int(port))
    .wait()
try server.closeFuture.wait()
