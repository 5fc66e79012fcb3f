import Logging
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Writes access-log lines without blocking an event loop: loops append finished lines to one
/// buffer (a short lock, no I/O), and a writer thread takes the whole buffer every 50 ms and
/// writes it with as few `write` calls as it takes. When the destination cannot keep up and the
/// buffer holds ``bufferLimit`` bytes, new lines are dropped and counted (the count is logged
/// at most once a second). ``reopen()`` (SIGUSR1) reopens a file destination before the next
/// write, for log rotation.
final class AccessLogWriter: Sendable {
    /// The most bytes waiting to be written; lines past it are dropped.
    static let bufferLimit = 4 << 20

    let settings: ProxyConfig.AccessLog
    private let state: Mutex<State>
    private let thread: NIOThreadPool
    private let logger: Logger

    private struct State {
        var buffer: [UInt8] = []
        var dropped = 0
        var reopenRequested = false
        var stopped = false
        /// Set by the writer thread once it wrote its last batch and closed the file.
        var finished = false
    }

    /// Opens the destination and starts the writer thread. Throws a ``ConfigError`` naming
    /// `accessLog.path` when the file cannot be opened.
    init(settings: ProxyConfig.AccessLog, logger: Logger) throws(ConfigError) {
        self.settings = settings
        self.logger = logger
        let fd = try Self.open(settings.destination)
        self.state = Mutex(State())
        self.thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        thread.submit { [self] _ in self.run(fd: fd) }
    }

    /// Queues one line (called on an event loop).
    func append(_ entry: AccessLogEntry) {
        var line = entry.line(settings.format)
        line.append("\n")
        state.withLock { state in
            // A stopped writer (a reload replaced it) takes no more lines: nothing would write them.
            guard !state.stopped, state.buffer.count + line.utf8.count <= Self.bufferLimit else {
                state.dropped += 1
                return
            }
            state.buffer.append(contentsOf: line.utf8)
        }
    }

    /// Reopens a file destination before the next write (log rotation).
    func reopen() {
        state.withLock { $0.reopenRequested = true }
    }

    /// Writes what is queued and stops the writer thread, waiting at most `grace` for its last
    /// write (a destination that blocks, such as a full pipe, must not hold up a reload or a
    /// shutdown; the thread then ends when its write returns).
    func stop(grace: Duration = .seconds(1)) async {
        state.withLock { $0.stopped = true }
        let deadline = ContinuousClock.now + grace
        while !state.withLock({ $0.finished }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        thread.shutdownGracefully { _ in }
    }

    private func run(fd start: Int32) {
        var fd = start
        var pending: [UInt8] = []
        var droppedSinceWarning = 0
        var lastWarning = ContinuousClock.now - .seconds(1)
        while true {
            let (reopen, dropped, stopped) = state.withLock { state in
                swap(&pending, &state.buffer)
                defer {
                    state.reopenRequested = false
                    state.dropped = 0
                }
                return (state.reopenRequested, state.dropped, state.stopped)
            }
            if reopen, case .file = settings.destination {
                do {
                    let next = try Self.open(settings.destination)
                    close(fd)
                    fd = next
                } catch {
                    logger.error("access log: cannot reopen \(settings.destination), writing on to the old file: \(error)")
                }
            }
            droppedSinceWarning += dropped
            if droppedSinceWarning > 0, ContinuousClock.now - lastWarning >= .seconds(1) {
                logger.warning("access log: \(droppedSinceWarning) lines dropped, \(settings.destination) could not keep up")
                droppedSinceWarning = 0
                lastWarning = ContinuousClock.now
            }
            Self.writeAll(pending, to: fd)
            pending.removeAll(keepingCapacity: true)
            if stopped { break }
            usleep(50_000)
        }
        if case .file = settings.destination { close(fd) }
        state.withLock { $0.finished = true }
    }

    private static func open(_ destination: ProxyConfig.AccessLog.Destination) throws(ConfigError) -> Int32 {
        switch destination {
        case .stdout: return STDOUT_FILENO
        case .stderr: return STDERR_FILENO
        case .file(let path):
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw ConfigError(path: "accessLog.path", "cannot open \(path): \(String(cString: strerror(errno)))") }
            return fd
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // a destination that fails loses the batch; the proxy goes on
                }
                offset += written
            }
        }
    }
}
