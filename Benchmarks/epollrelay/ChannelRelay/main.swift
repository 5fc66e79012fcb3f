import EpollTransport
import Glibc
import NIOCore
import RelayHandlers

// ChannelRelay: H2Relay's handlers (../../h2relay/RelayHandlers) in NIO's `ChannelPipeline`, on a
// transport of its own: `EpollEventLoop` (an `EventLoop` to NIO) and `EpollSocketChannel` (a
// `Channel` to NIO), from ../EpollTransport, in place of NIOPosix's. Beside H2Relay (the same handlers on NIOPosix) and
// EpollRelay (the same relay with no NIO channel at all) it measures what NIO's socket channels
// and event loop cost a request, apart from what its pipeline costs. See ../README.md.
//
//   ChannelRelay PORT 127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083

let (port, backends) = relayArguments("ChannelRelay")
signal(SIGPIPE, SIG_IGN)
let loop = EpollEventLoop()
let pool = UpstreamPool(backends: backends) { address, eventLoop, handler in
    EpollSocketChannel.connect(to: address, on: loop) { channel in
        try channel.pipeline.syncOperations.addHandler(handler)
    }.map { _ in }
}
let listener = EpollListener(port: port, on: loop) { channel in
    try channel.pipeline.syncOperations.addHandler(RelayConnection(pool: pool, allocator: channel.allocator))
}
loop.run()
