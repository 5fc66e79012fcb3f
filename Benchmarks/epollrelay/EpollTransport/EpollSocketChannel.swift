import CEpoll
import Glibc
import NIOCore

/// A TCP connection as a NIO `Channel` over `EpollEventLoop`: NIO's `ChannelPipeline` and its
/// handlers on top, reads and writes of its own below.
///
/// It behaves as NIOPosix's socket channel does where the handlers can tell:
/// - **Reads** follow NIO's auto-read: the channel asks its pipeline to `read()` when it becomes
///   active and after each read's `channelReadComplete`. A handler that holds that request back
///   stops the reading (the socket leaves the loop's read interest) until it lets one through.
///   Each read goes to the pipeline in a buffer the channel reuses when no handler kept the
///   last one.
/// - **Writes** wait until a flush; then everything flushed goes out in one `write`. What the
///   socket does not take waits for writability. Above 64 KiB waiting the channel is not
///   writable (`channelWritabilityChanged`), and below 32 KiB it is again: NIO's default marks.
/// - **Closing** fails what waits to be written, fires `channelInactive`, and completes
///   `closeFuture`. The end of the peer's stream closes it (no half-closure).
///
/// A measuring instrument's channel: no options (every `setOption` succeeds and does nothing),
/// no local address, one read a readiness.
public final class EpollSocketChannel: Channel, ChannelCore, PolledSocket, @unchecked Sendable {
    private enum State { case connecting, active, closed }

    private static let highWatermark = 64 * 1024
    private static let lowWatermark = 32 * 1024

    let fd: Int32
    private let loop: EpollEventLoop
    private var state: State
    private let closePromise: EventLoopPromise<Void>
    private var connectPromise: EventLoopPromise<Channel>?
    private var readBuffer: ByteBuffer
    /// Whether the pipeline asked for a read since the last one.
    private var readPending = false
    /// Written and not flushed yet; flushed and not written yet (with their promises).
    private var unflushed: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushed: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var waitingBytes = 0
    private var writable = true
    /// What the loop reports now: readability, writability.
    private var interest: (read: Bool, write: Bool)
    /// Set once, in `init`: the pipeline needs the channel to exist.
    private var _pipeline: ChannelPipeline?

    public let allocator = ByteBufferAllocator()

    private init(fd: Int32, loop: EpollEventLoop, connecting: Bool) {
        self.fd = fd
        self.loop = loop
        state = connecting ? .connecting : .active
        interest = (read: false, write: connecting)
        closePromise = loop.makePromise()
        readBuffer = allocator.buffer(capacity: 2048)
        _pipeline = ChannelPipeline(channel: self)
        loop.add(fd, self, read: false, write: connecting)
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
        guard channel.state != .closed else { return }  // `initialize` turned it away
        channel.pipeline.syncOperations.fireChannelRegistered()
        channel.becomeActive()
    }

    /// Connects to `address` (IPv4) with `initialize` run on the channel at once (to add its
    /// handlers): what is written before the connection is up waits for it. The future has the
    /// channel once it is up.
    public static func connect(
        to address: SocketAddress, on loop: EpollEventLoop, initialize: (Channel) throws -> Void
    ) -> EventLoopFuture<Channel> {
        guard case .v4(let v4) = address else { return loop.makeFailedFuture(ChannelError.operationUnsupported) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return loop.makeFailedFuture(IOError(errnoCode: errno, reason: "socket")) }
        setNoDelay(fd)
        var target = v4.address
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else {
            let error = IOError(errnoCode: errno, reason: "connect")
            Glibc.close(fd)
            return loop.makeFailedFuture(error)
        }
        let channel = EpollSocketChannel(fd: fd, loop: loop, connecting: true)
        let connected = loop.makePromise(of: Channel.self)
        channel.connectPromise = connected
        do {
            try initialize(channel)
        } catch {
            channel.close0(error: error, mode: .all, promise: nil)
            return connected.futureResult
        }
        channel.pipeline.syncOperations.fireChannelRegistered()
        return connected.futureResult
    }

    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func becomeActive() {
        state = .active
        pipeline.syncOperations.fireChannelActive()
        pipeline.syncOperations.read()  // auto-read
        updateInterest()
    }

    /// Tells the loop what to report: reads while one is pending, writes while bytes wait (or
    /// the connect).
    private func updateInterest() {
        guard state != .closed else { return }
        let wanted = (read: state == .active && readPending, write: state == .connecting || !flushed.isEmpty)
        guard wanted != interest else { return }
        interest = wanted
        loop.watch(fd, read: wanted.read, write: wanted.write)
    }

    // MARK: Readiness

    func ready(readable: Bool, writable: Bool, failed: Bool) {
        if state == .connecting {
            guard !failed else { return close0(error: IOError(errnoCode: ECONNREFUSED, reason: "connect"), mode: .all, promise: nil) }
            guard writable else { return }
            connectPromise?.succeed(self)
            connectPromise = nil
            becomeActive()
        }
        if writable { writeFlushed() }
        if readable || failed {
            guard readPending else { return failed ? close0(error: ChannelError.eof, mode: .all, promise: nil) : () }
            readOnce()
        }
    }

    private func readOnce() {
        guard state == .active else { return }
        readPending = false
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
            if state == .active { pipeline.syncOperations.read() }  // auto-read
        } else if result == 0 {
            return close0(error: ChannelError.eof, mode: .all, promise: nil)
        } else if result == -Int(EAGAIN) {
            readPending = true
        } else {
            let error = IOError(errnoCode: CInt(-result), reason: "read")
            pipeline.syncOperations.fireErrorCaught(error)
            return close0(error: error, mode: .all, promise: nil)
        }
        updateInterest()
    }

    /// Writes what was flushed, in one `write`.
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
        waitingBytes -= written
        var done = 0
        while done < flushed.count, flushed[done].0.readableBytes <= written {
            written -= flushed[done].0.readableBytes
            done += 1
        }
        if done < flushed.count { flushed[done].0.moveReaderIndex(forwardBy: written) }
        let promises = flushed.prefix(done).compactMap(\.1)
        flushed.removeFirst(done)
        updateInterest()
        for promise in promises { promise.succeed() }
        if !self.writable, waitingBytes < Self.lowWatermark {
            self.writable = true
            pipeline.syncOperations.fireChannelWritabilityChanged()
        }
    }

    // MARK: Channel

    public var pipeline: ChannelPipeline { _pipeline! }
    public var closeFuture: EventLoopFuture<Void> { closePromise.futureResult }
    public var eventLoop: EventLoop { loop }
    public var localAddress: SocketAddress? { nil }
    public var parent: Channel? { nil }
    public var isWritable: Bool { writable }
    public var isActive: Bool { state == .active }
    public var _channelCore: ChannelCore { self }

    public private(set) lazy var remoteAddress: SocketAddress? = {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        return result == 0 ? SocketAddress(address, host: "") : nil
    }()

    public func setOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> EventLoopFuture<Void> {
        loop.makeSucceededVoidFuture()
    }

    public func getOption<Option: ChannelOption>(_ option: Option) -> EventLoopFuture<Option.Value> {
        loop.makeFailedFuture(ChannelError.operationUnsupported)
    }

    // MARK: ChannelCore

    public func localAddress0() throws -> SocketAddress { throw ChannelError.operationUnsupported }
    public func remoteAddress0() throws -> SocketAddress {
        guard let remoteAddress else { throw ChannelError.operationUnsupported }
        return remoteAddress
    }
    public func register0(promise: EventLoopPromise<Void>?) { promise?.succeed() }
    public func registerAlreadyConfigured0(promise: EventLoopPromise<Void>?) { promise?.succeed() }
    public func bind0(to: SocketAddress, promise: EventLoopPromise<Void>?) { promise?.fail(ChannelError.operationUnsupported) }
    public func connect0(to: SocketAddress, promise: EventLoopPromise<Void>?) { promise?.fail(ChannelError.operationUnsupported) }

    public func write0(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard state != .closed else { return promise?.fail(ChannelError.ioOnClosedChannel) ?? () }
        let buffer = unwrapData(data, as: ByteBuffer.self)
        unflushed.append((buffer, promise))
        waitingBytes += buffer.readableBytes
        if writable, waitingBytes > Self.highWatermark {
            writable = false
            pipeline.syncOperations.fireChannelWritabilityChanged()
        }
    }

    public func flush0() {
        guard !unflushed.isEmpty else { return }
        flushed.append(contentsOf: unflushed)
        unflushed.removeAll(keepingCapacity: true)
        writeFlushed()
    }

    public func read0() {
        guard !readPending else { return }
        readPending = true
        updateInterest()
    }

    public func close0(error: Error, mode: CloseMode, promise: EventLoopPromise<Void>?) {
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

    public func triggerUserOutboundEvent0(_ event: Any, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    public func channelRead0(_ data: NIOAny) {}  // reads no handler took
    public func errorCaught0(error: Error) {}
}
