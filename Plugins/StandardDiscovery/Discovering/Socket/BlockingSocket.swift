import Glibc

/// A blocking socket used by one thread at a time, every wait bounded by a deadline and a
/// ``StopSignal``.
///
/// Underneath, the descriptor is non-blocking: each call tries its system call and, while the
/// kernel says it would block, polls in slices of at most 100 ms, checking the stop signal
/// between slices and giving up at the deadline. Descriptors are opened with `SOCK_CLOEXEC`
/// and written with `MSG_NOSIGNAL`, so a child process never inherits them and a closed peer
/// never raises `SIGPIPE`.
///
/// Not `Sendable`: it holds mutable state (the descriptor, cleared by ``close()``) without a
/// lock, so one thread at a time owns it.
public final class BlockingSocket {
    /// The longest single `poll`, so a ``StopSignal`` is noticed within about this long.
    private static let pollSlice: Duration = .milliseconds(100)

    /// The most ``receive(max:deadline:stop:)`` reads at once, whatever `max` asks for.
    private static let receiveLimit = 1 << 20

    /// The open descriptor, or -1 once closed.
    private var descriptor: Int32

    /// UDP: ``send(_:deadline:stop:)`` writes one datagram.
    private let isDatagram: Bool

    private init(descriptor: Int32, isDatagram: Bool) {
        self.descriptor = descriptor
        self.isDatagram = isDatagram
    }

    deinit {
        close()
    }

    /// TCP connect (host: IP literal or name resolved with getaddrinfo; IPv4 and IPv6),
    /// non-blocking connect + poll until deadline.
    ///
    /// Tries each address in turn until one connects. A name lookup blocks for as long as the
    /// system resolver takes; IP literals never wait. Sets `TCP_NODELAY`.
    public static func connectTCP(
        host: String,
        port: UInt16,
        deadline: ContinuousClock.Instant,
        stop: StopSignal
    ) throws(SocketError) -> BlockingSocket {
        let endpoint = SocketAddress.describe(host: host, port: port)
        let addresses = try SocketAddress.resolve(
            host: host, port: port, socketType: Int32(SOCK_STREAM.rawValue), numericOnly: false)
        var failure = SocketError("connect to \(endpoint): no address")
        for address in addresses {
            do throws(SocketError) {
                let socket = try open(address, isDatagram: false, endpoint: endpoint)
                var on: Int32 = 1
                _ = setsockopt(
                    socket.descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                try socket.completeConnect(to: address, endpoint: endpoint, deadline: deadline, stop: stop)
                return socket
            } catch {
                if stop.isStopped { throw .stopped }
                if ContinuousClock.now >= deadline { throw SocketError("connect to \(endpoint): timed out") }
                failure = error
            }
        }
        throw failure
    }

    /// A connected UDP socket to host (IP literal) : port.
    ///
    /// Connecting a UDP socket only fixes its peer: it never waits, and datagrams from other
    /// addresses are dropped by the kernel.
    public static func connectUDP(host: String, port: UInt16) throws(SocketError) -> BlockingSocket {
        let endpoint = SocketAddress.describe(host: host, port: port)
        let addresses = try SocketAddress.resolve(
            host: host, port: port, socketType: Int32(SOCK_DGRAM.rawValue), numericOnly: true)
        var failure = SocketError("connect to \(endpoint): no address")
        for address in addresses {
            do throws(SocketError) {
                let socket = try open(address, isDatagram: true, endpoint: endpoint)
                let result = address.withSockaddr { Glibc.connect(socket.descriptor, $0, $1) }
                guard result == 0 else { throw .system("connect to \(endpoint)", errno) }
                return socket
            } catch {
                failure = error
            }
        }
        throw failure
    }

    /// Sends all bytes (one datagram for UDP).
    public func send(_ bytes: [UInt8], deadline: ContinuousClock.Instant, stop: StopSignal) throws(SocketError) {
        var sent = 0
        repeat {
            let count = try perform(waitingFor: POLLOUT, deadline: deadline, stop: stop) { descriptor in
                bytes.withUnsafeBytes { buffer in
                    Glibc.send(
                        descriptor, buffer.baseAddress.map { $0 + sent }, buffer.count - sent, Int32(MSG_NOSIGNAL))
                }
            }
            if isDatagram {
                guard count == bytes.count else {
                    throw SocketError("send: sent \(count) of a \(bytes.count)-byte datagram")
                }
                return
            }
            sent += count
        } while sent < bytes.count
    }

    /// Up to `max` bytes; [] means the peer closed (TCP). Throws on deadline ("timed out"),
    /// stop ("stopped"), or error (with strerror text).
    ///
    /// Reads at most 1 MiB at once. For UDP, returns one datagram, cut to `max` bytes; an ICMP
    /// "port unreachable" from the peer fails a later send or receive with "Connection refused".
    public func receive(max: Int, deadline: ContinuousClock.Instant, stop: StopSignal) throws(SocketError) -> [UInt8] {
        guard max > 0 else { throw SocketError("receive: invalid size \(max)") }
        var buffer = [UInt8](repeating: 0, count: Swift.min(max, Self.receiveLimit))
        let count = try perform(waitingFor: POLLIN, deadline: deadline, stop: stop) { descriptor in
            buffer.withUnsafeMutableBytes { Glibc.recv(descriptor, $0.baseAddress, $0.count, 0) }
        }
        buffer.removeLast(buffer.count - count)
        return buffer
    }

    /// Idempotent; deinit closes too.
    public func close() {
        guard descriptor >= 0 else { return }
        // The descriptor is gone even if close reports an error (Linux), so never retry it.
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    /// A new non-blocking, close-on-exec socket for `address`'s family.
    private static func open(_ address: SocketAddress, isDatagram: Bool, endpoint: String) throws(SocketError)
        -> BlockingSocket
    {
        let type = isDatagram ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue
        let descriptor = socket(
            address.family, Int32(type | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw .system("socket for \(endpoint)", errno) }
        return BlockingSocket(descriptor: descriptor, isDatagram: isDatagram)
    }

    /// Starts a non-blocking TCP connect and waits until it completes or fails.
    private func completeConnect(
        to address: SocketAddress,
        endpoint: String,
        deadline: ContinuousClock.Instant,
        stop: StopSignal
    ) throws(SocketError) {
        let result = address.withSockaddr { Glibc.connect(descriptor, $0, $1) }
        if result == 0 { return }
        let code = errno
        // After EINTR the connect goes on in the background, just as after EINPROGRESS.
        guard code == EINPROGRESS || code == EINTR else { throw .system("connect to \(endpoint)", code) }
        try wait(for: POLLOUT, deadline: deadline, stop: stop)
        var status: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &status, &length) == 0 else {
            throw .system("connect to \(endpoint)", errno)
        }
        guard status == 0 else { throw .system("connect to \(endpoint)", status) }
    }

    /// Runs `call` on the descriptor until it succeeds: again after `EINTR`, and after waiting
    /// for `events` when it would block. Returns its non-negative result.
    private func perform(
        waitingFor events: Int32,
        deadline: ContinuousClock.Instant,
        stop: StopSignal,
        _ call: (Int32) -> Int
    ) throws(SocketError) -> Int {
        while true {
            guard descriptor >= 0 else { throw SocketError("socket closed") }
            let result = call(descriptor)
            if result >= 0 { return result }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                try wait(for: events, deadline: deadline, stop: stop)
            default:
                throw .system(events == POLLIN ? "receive" : "send", code)
            }
        }
    }

    /// Polls for `events` in slices of at most ``pollSlice`` until the descriptor is ready (or
    /// has an error or hang-up for the next call to report), the deadline passes, or `stop`
    /// fires.
    private func wait(for events: Int32, deadline: ContinuousClock.Instant, stop: StopSignal) throws(SocketError) {
        var entry = pollfd(fd: descriptor, events: Int16(events), revents: 0)
        while true {
            if stop.isStopped { throw .stopped }
            let now = ContinuousClock.now
            guard now < deadline else { throw .timedOut }
            let slice = Swift.min(deadline - now, Self.pollSlice)
            let (seconds, attoseconds) = slice.components
            // Round up, so the last slice does not spin on a zero timeout.
            let milliseconds = Int32(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            entry.revents = 0
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 {
                let code = errno
                guard code == EINTR else { throw .system("poll", code) }
            }
        }
    }
}
