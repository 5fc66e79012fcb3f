import CEpoll
import Dispatch
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// A socket the loop polls: its readiness comes to `ready`.
protocol PolledSocket: AnyObject {
    func ready(readable: Bool, writable: Bool, failed: Bool)
}

/// One thread's `epoll` loop that is an `EventLoop` to NIO, so NIO's `ChannelPipeline`, futures
/// and promises run on it unchanged. It runs on the thread that made it (`run()` never returns).
///
/// Each pass waits for readiness (or the next timer, or nothing when tasks wait), hands each
/// ready socket its events, then runs the timers that are due and then the tasks queued so far.
/// So a flush a handler asks for "after this pass" gathers every read of the pass, as on NIO
/// (which runs due timers and tasks in one batch, not timers first). A timer cancelled off the
/// loop may still run if it is due before the cancellation reaches the loop.
public final class EpollEventLoop: EventLoop, @unchecked Sendable {
    private let poll: Int32
    /// An `eventfd` that wakes the loop when another thread queues a task.
    private let wakeup: Int32
    private let thread = pthread_self()
    /// Each polled socket, by descriptor, with the registration it came with: an event carries
    /// both (`data.u64`), so one queued for a socket closed earlier in the same pass never
    /// reaches a new socket that took its descriptor.
    private var sockets: [(registration: UInt32, socket: PolledSocket)?] = []
    private var nextRegistration: UInt32 = 0
    /// Tasks queued on the loop's thread, and the batch running now.
    private var tasks: [() -> Void] = []
    private var running: [() -> Void] = []
    private let foreignTasks = NIOLockedValueBox<[@Sendable () -> Void]>([])
    /// Timers by deadline (a sorted array: a relay has few).
    private var timers: [Timer] = []
    private let nextTimerID = NIOLockedValueBox<UInt64>(0)
    /// The most buffers one `writev` takes, and the loop's vectors for it (one thread, one at a
    /// time).
    static let maxIOVectors = 64
    let ioVectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: maxIOVectors)

    public init() {
        poll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard poll >= 0, wakeup >= 0 else { fatalError("EpollEventLoop: \(String(cString: strerror(errno)))") }
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: UInt64(UInt32(bitPattern: wakeup))))
        epoll_ctl(poll, EPOLL_CTL_ADD, wakeup, &event)
    }

    // MARK: Sockets

    /// Polls `fd` for `socket`: for readability when `read`, writability when `write` (errors
    /// and hang-ups always).
    func add(_ fd: Int32, _ socket: PolledSocket, read: Bool, write: Bool) {
        while sockets.count <= Int(fd) { sockets.append(nil) }
        nextRegistration &+= 1
        sockets[Int(fd)] = (nextRegistration, socket)
        var event = epoll_event(events: Self.events(read: read, write: write), data: data(fd))
        epoll_ctl(poll, EPOLL_CTL_ADD, fd, &event)
    }

    /// Changes what is polled for on `fd`.
    func watch(_ fd: Int32, read: Bool, write: Bool) {
        var event = epoll_event(events: Self.events(read: read, write: write), data: data(fd))
        epoll_ctl(poll, EPOLL_CTL_MOD, fd, &event)
    }

    /// What an event on `fd` carries: its registration, then the descriptor.
    private func data(_ fd: Int32) -> epoll_data_t {
        epoll_data_t(u64: UInt64(sockets[Int(fd)]?.registration ?? 0) << 32 | UInt64(UInt32(bitPattern: fd)))
    }

    private static func events(read: Bool, write: Bool) -> UInt32 {
        (read ? EPOLLIN.rawValue : 0) | (write ? EPOLLOUT.rawValue : 0)
    }

    /// Forgets `fd` before it is closed (closing it leaves the epoll set).
    func remove(_ fd: Int32) {
        sockets[Int(fd)] = nil
    }

    // MARK: The loop

    public func run() -> Never {
        let capacity: Int32 = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        while true {
            let timeout: Int32
            if !tasks.isEmpty {
                timeout = 0
            } else if let first = timers.first {
                let now = NIODeadline.now()
                timeout = first.deadline <= now ? 0 : Int32(clamping: (first.deadline - now).nanoseconds / 1_000_000 + 1)
            } else {
                timeout = -1
            }
            let count = epoll_wait(poll, events, capacity, timeout)
            guard count >= 0 || errno == EINTR else { fatalError("EpollEventLoop: epoll_wait: \(String(cString: strerror(errno)))") }
            for index in 0..<Int(max(count, 0)) {
                let event = events[index]
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: event.data.u64))
                if fd == wakeup {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeup, &value, 8)
                    continue
                }
                guard Int(fd) < sockets.count, let (registration, socket) = sockets[Int(fd)],
                    registration == UInt32(truncatingIfNeeded: event.data.u64 >> 32)
                else { continue }  // closed earlier in this pass
                socket.ready(
                    readable: event.events & EPOLLIN.rawValue != 0,
                    writable: event.events & EPOLLOUT.rawValue != 0,
                    failed: event.events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
                )
            }
            runTimers()
            runTasks()
        }
    }

    private func runTimers() {
        guard let first = timers.first else { return }
        let now = NIODeadline.now()
        guard first.deadline <= now else { return }
        let due = timers.prefix { $0.deadline <= now }
        timers.removeFirst(due.count)
        for timer in due { timer.run() }
    }

    private func runTasks() {
        foreignTasks.withLockedValue { foreign in
            for task in foreign { tasks.append(task) }
            foreign.removeAll(keepingCapacity: true)
        }
        swap(&tasks, &running)
        for task in running { task() }
        running.removeAll(keepingCapacity: true)
    }

    // MARK: EventLoop

    public var inEventLoop: Bool { pthread_equal(thread, pthread_self()) != 0 }

    public func execute(_ task: @escaping @Sendable () -> Void) {
        if inEventLoop {
            tasks.append(task)
        } else {
            foreignTasks.withLockedValue { $0.append(task) }
            var one: UInt64 = 1
            _ = Glibc.write(wakeup, &one, 8)
        }
    }

    public func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise: EventLoopPromise<T> = makePromise()
        let id = nextTimerID.withLockedValue { id in
            id += 1
            return id
        }
        let timer = Timer(deadline: deadline, id: id) {
            do { promise.assumeIsolated().succeed(try task()) } catch { promise.fail(error) }
        }
        if inEventLoop { insert(timer) } else { execute { self.insert(timer) } }
        return Scheduled(promise: promise) {
            if self.inEventLoop {
                self.timers.removeAll { $0.id == id }
            } else {
                self.execute { self.timers.removeAll { $0.id == id } }
            }
        }
    }

    /// A task to run at `deadline`; made and run on the loop's thread only.
    private struct Timer: @unchecked Sendable {
        var deadline: NIODeadline
        var id: UInt64
        var run: () -> Void
    }

    private func insert(_ timer: Timer) {
        let index = timers.firstIndex { $0.deadline > timer.deadline } ?? timers.endIndex
        timers.insert(timer, at: index)
    }

    public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: .now() + delay, task)
    }

    public func preconditionInEventLoop(file: StaticString, line: UInt) {
        precondition(inEventLoop, "not on the loop's thread", file: file, line: line)
    }

    public func preconditionNotInEventLoop(file: StaticString, line: UInt) {
        precondition(!inEventLoop, "on the loop's thread", file: file, line: line)
    }

    /// The relay runs until it is killed: there is nothing to shut down.
    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable (Error?) -> Void) {
        queue.async { callback(EventLoopError.unsupportedOperation) }
    }

    public func next() -> EventLoop { self }

    public func makeIterator() -> EventLoopIterator { EventLoopIterator([self]) }
}
