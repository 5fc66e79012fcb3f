import CEpoll
import Glibc
import NIOCore

/// A TCP connection as a NIO `Channel` over `EpollEventLoop`: NIO's `ChannelPipeline` and the
/// relay's handlers on top, its own reads and writes below. It reads whenever the socket is
/// readable (auto-read, one `read` a readiness), hands each read to the pipeline in a buffer it
/// reuses when no handler kept the last one, and writes what was flushed in one `write` (a
/// `writev` when several buffers wait).
///
/// A measuring instrument's channel: no options (every `setOption` succeeds and does nothing),
/// always writable (the relay's messages are small), no half-closure, no addresses.
final class EpollSocketChannel: Channel, ChannelCore, PolledSocket, @unchecked Sendable {
    private enum State { case connecting, active, closed }

    let fd: Int32
    private let loop: EpollEventLoop
    private var state: State
    private let closePromise: EventLoopPromise<Void>
    private var readBuffer: ByteBuffer
    /// Written and not flushed yet; flushed and not written yet (with their promises).
    private var unflushed: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushed: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    /// Set once, in `init`: the pipeline needs the channel to exist.
    private var _pipeline: ChannelPipeline?
    /// Whether the loop reports writability (a short write waits, or the connect).
    private var watchingWrites: Bool

    let allocator = ByteBufferAllocator()

    private init(fd: Int32, loop: EpollEventLoop, connecting: Bool) {
        self.fd = fd
        self.loop = loop
        state = connecting ? .connecting : .active
        watchingWrites = connecting
        closePromise = loop.makePromise()
        readBuffer = allocator.buffer(capacity: 2048)
        _pipeline = ChannelPipeline(channel: self)
        loop.add(fd, self, writable: connecting)
    }

    /// Takes an accepted connection and runs `initialize` on it (to add its handlers).
    static func accepted(fd: Int32, on loop: EpollEventLoop, initialize: (Channel) throws -> Void) {
        setNoDelay(fd)
        let channel = EpollSocketChannel(fd: fd, loop: loop, connecting: false)
        do {
            try initialize(channel)
        } catch {
            return channel.close0(error: error, mode: .all, promise: nil)
        }
        channel.pipeline.syncOperations.fireChannelRegistered()
        channel.pipeline.syncOperations.fireChannelActive()
    }

    /// Connects to `address` with `initialize` run on the channel at once (to add its handlers):
    /// what is written before the connection is up waits for it. The future succeeds when it is.
    static func connect(to address: sockaddr_in, on loop: EpollEventLoop, initialize: (Channel) throws -> Void) -> EventLoopFuture<Void> {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return loop.makeFailedFuture(IOError(errnoCode: errno, reason: "socket")) }
        setNoDelay(fd)
        var address = address
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else {
            let error = IOError(errnoCode: errno, reason: "connect")
            Glibc.close(fd)
            return loop.makeFailedFuture(error)
        }
        let channel = EpollSocketChannel(fd: fd, loop: loop, connecting: true)
        do {
            try initialize(channel)
        } catch {
            channel.close0(error: error, mode: .all, promise: nil)
            return loop.makeFailedFuture(error)
        }
        channel.pipeline.syncOperations.fireChannelRegistered()
        let connected = loop.makePromise(of: Void.self)
        channel.connectPromise = connected
        return connected.futureResult
    }

    private var connectPromise: EventLoopPromise<Void>?

    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    // MARK: Readiness

    func ready(readable: Bool, writable: Bool, failed: Bool) {
        if failed && state == .connecting {
            return close0(error: IOError(errnoCode: ECONNREFUSED, reason: "connect"), mode: .all, promise: nil)
        }
        if writable {
            if state == .connecting {
                state = .active
                connectPromise?.succeed()
                connectPromise = nil
                pipeline.syncOperations.fireChannelActive()
            }
            writeFlushed()
        }
        if readable || failed, state == .active { readOnce() }
    }

    private func readOnce() {
        readBuffer.clear()  // new storage when a handler kept the last read's
        var result = 0
        readBuffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 2048) { free in
            let count = Glibc.read(fd, free.baseAddress, free.count)
            result = count >= 0 ? count : -Int(errno)
            return max(count, 0)
        }
        if result > 0 {
            pipeline.syncOperations.fireChannelRead(NIOAny(readBuffer))
            pipeline.syncOperations.fireChannelReadComplete()
        } else if result == 0 {
            close0(error: ChannelError.eof, mode: .all, promise: nil)
        } else if result != -Int(EAGAIN) {
            let error = IOError(errnoCode: CInt(-result), reason: "read")
            pipeline.syncOperations.fireErrorCaught(error)
            close0(error: error, mode: .all, promise: nil)
        }
    }

    /// Writes what was flushed: one `write` for one buffer, one `writev` for several.
    private func writeFlushed() {
        guard state == .active, !flushed.isEmpty else { return }
        var written: Int
        if flushed.count == 1 {
            written = flushed[0].0.withUnsafeReadableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        } else {
            var joined = allocator.buffer(capacity: flushed.reduce(0) { $0 + $1.0.readableBytes })
            for (buffer, _) in flushed { joined.writeImmutableBuffer(buffer) }
            written = joined.withUnsafeReadableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
        if written < 0 {
            guard errno == EAGAIN else {
                return close0(error: IOError(errnoCode: errno, reason: "write"), mode: .all, promise: nil)
            }
            written = 0
        }
        var done = 0
        while done < flushed.count, flushed[done].0.readableBytes <= written {
            written -= flushed[done].0.readableBytes
            done += 1
        }
        if done < flushed.count { flushed[done].0.moveReaderIndex(forwardBy: written) }
        let promises = flushed.prefix(done).compactMap(\.1)
        flushed.removeFirst(done)
        let wantsWrites = !flushed.isEmpty
        if wantsWrites != watchingWrites {
            watchingWrites = wantsWrites
            loop.watch(fd, writable: wantsWrites)
        }
        for promise in promises { promise.succeed() }
    }

    // MARK: Channel

    var pipeline: ChannelPipeline { _pipeline! }
    var closeFuture: EventLoopFuture<Void> { closePromise.futureResult }
    var eventLoop: EventLoop { loop }
    var localAddress: SocketAddress? { nil }
    var remoteAddress: SocketAddress? { nil }
    var parent: Channel? { nil }
    var isWritable: Bool { true }
    var isActive: Bool { state == .active }
    var _channelCore: ChannelCore { self }

    func setOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> EventLoopFuture<Void> {
        loop.makeSucceededVoidFuture()
    }

    func getOption<Option: ChannelOption>(_ option: Option) -> EventLoopFuture<Option.Value> {
        loop.makeFailedFuture(ChannelError.operationUnsupported)
    }

    // MARK: ChannelCore

    func localAddress0() throws -> SocketAddress { throw ChannelError.operationUnsupported }
    func remoteAddress0() throws -> SocketAddress { throw ChannelError.operationUnsupported }
    func register0(promise: EventLoopPromise<Void>?) { promise?.succeed() }
    func registerAlreadyConfigured0(promise: EventLoopPromise<Void>?) { promise?.succeed() }
    func bind0(to: SocketAddress, promise: EventLoopPromise<Void>?) { promise?.fail(ChannelError.operationUnsupported) }
    func connect0(to: SocketAddress, promise: EventLoopPromise<Void>?) { promise?.fail(ChannelError.operationUnsupported) }

    func write0(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard state != .closed else { return promise?.fail(ChannelError.ioOnClosedChannel) ?? () }
        unflushed.append((unwrapData(data, as: ByteBuffer.self), promise))
    }

    func flush0() {
        guard !unflushed.isEmpty else { return }
        flushed.append(contentsOf: unflushed)
        unflushed.removeAll(keepingCapacity: true)
        writeFlushed()
    }

    func read0() {}  // always reading

    func close0(error: Error, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard state != .closed else { return promise?.fail(ChannelError.alreadyClosed) ?? () }
        let wasActive = state == .active
        state = .closed
        loop.remove(fd)
        Glibc.close(fd)
        let pending = flushed + unflushed
        flushed.removeAll()
        unflushed.removeAll()
        for (_, promise) in pending { promise?.fail(ChannelError.ioOnClosedChannel) }
        connectPromise?.fail(error)
        connectPromise = nil
        if wasActive { pipeline.syncOperations.fireChannelInactive() }
        pipeline.syncOperations.fireChannelUnregistered()
        promise?.succeed()
        closePromise.succeed()
    }

    func triggerUserOutboundEvent0(_ event: Any, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func channelRead0(_ data: NIOAny) {}  // reads no handler took
    func errorCaught0(error: Error) {}
}
