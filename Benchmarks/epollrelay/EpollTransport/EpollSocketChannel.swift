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
/// - **Writes** wait until a flush; then what was flushed goes out in one `write`, or one
///   `writev` of up to 64 buffers as they are. What the socket does not take waits for
///   writability. Above 64 KiB waiting the channel is not writable (`channelWritabilityChanged`),
///   and below 32 KiB it is again: NIO's default marks.
/// - **Closing** fails what waits to be written, fires `channelInactive`, and completes
///   `closeFuture`. The end of the peer's stream closes it (no half-closure).
///
/// A measuring instrument's channel: no options (every `setOption` succeeds and does nothing),
/// no local address, no half-closure, one read of up to 2 KiB a readiness (NIO's grows to
/// 64 KiB), and `isActive`, `isWritable` and `remoteAddress` meant to be read on the loop.
public final class EpollSocketChannel: Channel, ChannelCore, PolledSocket, @unchecked Sendable {
    /// `idle` while an accepted connection's handlers are added, before it is registered and
    /// active.
    private enum State { case idle, connecting, active, closed }

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
        state = connecting ? .connecting : .idle
        interest = (read: false, write: connecting)
        closePromise = loop.makePromise()
        readBuffer = allocator.buffer(capacity: 2048)
        _pipeline = ChannelPipeline(channel: self)
        loop.add(fd, self, read: false, write: connecting)
    }

    /// Whether `channelRegistered` fired (so `channelUnregistered` fires at the close).
    private var registered = false

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
        channel.registered = true
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
        guard channel.state != .closed else { return connected.futureResult }
        channel.registered = true
        channel.pipeline.syncOperations.fireChannelRegistered()
        return connected.futureResult
    }

    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func becomeActive() {
        state = .active
        connectPromise?.succeed(self)
        connectPromise = nil
        pipeline.syncOperations.fireChannelActive()
        readIfNeeded()
        updateInterest()
    }

    /// Auto-read: asks the pipeline for a read unless one is pending.
    private func readIfNeeded() {
        if state == .active, !readPending { pipeline.syncOperations.read() }
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
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard !failed, error == 0 else {
                return close0(error: IOError(errnoCode: error == 0 ? ECONNREFUSED : error, reason: "connect"), mode: .all, promise: nil)
            }
            guard writable else { return }
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
            readIfNeeded()
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

    /// Writes what was flushed: one `write` for one buffer, one `writev` for up to
    /// `EpollEventLoop.maxIOVectors` (the rest waits for the next writability).
    private func writeFlushed() {
        guard state == .active, !flushed.isEmpty else { return }
        var written: Int
        if flushed.count == 1 {
            written = flushed[0].0.withUnsafeReadableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        } else {
            let count = min(flushed.count, EpollEventLoop.maxIOVectors)
            let vectors = loop.ioVectors
            for index in 0..<count {
                // The pointer outlives the closure, not the buffer: `flushed` holds the buffer's
                // storage, and nothing writes to it, until `writev` returns.
                flushed[index].0.withUnsafeReadableBytes { bytes in
                    vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
                }
            }
            written = Glibc.writev(fd, vectors.baseAddress, Int32(count))
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

    /// Closes the whole connection; closing one direction (`.output`, `.input`) is not offered
    /// and fails, so a handler falls back to closing it whole. The handlers are removed and
    /// `closeFuture` completes on the loop's next pass, as NIO does: the caller may still be
    /// walking the pipeline.
    public func close0(error: Error, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all else { return promise?.fail(ChannelError.operationUnsupported) ?? () }
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
        if registered { pipeline.syncOperations.fireChannelUnregistered() }
        promise?.succeed()
        loop.execute {
            self.removeHandlers(pipeline: self.pipeline)
            self.closePromise.succeed()
        }
    }

    public func triggerUserOutboundEvent0(_ event: Any, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    public func channelRead0(_ data: NIOAny) {}  // reads no handler took
    public func errorCaught0(error: Error) {}
}
