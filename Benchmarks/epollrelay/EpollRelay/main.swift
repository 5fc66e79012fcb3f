import CEpoll
import Glibc
import NIOCore
import NIOHPACK
import RelayHandlers

// The floor of an HTTP proxy below NIO's channels, for issue 12 (README.md): `H2Relay`
// (../h2relay) on a transport of its own. One thread runs one `epoll` loop over nonblocking
// sockets; each connection reads into a `ByteBuffer` it keeps and writes with `write` calls of
// its own; there are no channels, pipelines, handler contexts, promises or event-loop tasks.
//
// It does what `H2Relay` does, and no more. Each request goes to an idle keep-alive upstream
// connection, round-robin over the backends for every request and pooled per process, and the
// response's head and `content-length` body are read whole before they go back.
// - HTTP/1.1: a request at a time. Its head is found in place (up to its blank line) and written
//   upstream as it came; the response's bytes go back as they came, in one write.
// - h2c (prior knowledge): frames are read in place and each HEADERS block is decoded with
//   NIOHPACK into the stream's HTTP/1.1 request; a stream's answer is a HEADERS and a DATA frame,
//   and the frames of every stream answered in one pass of the loop go out in one write.
// It serves bodiless requests (an HTTP/1.1 `GET` or `HEAD`, HEADERS with END_STREAM) and
// responses framed by `content-length` (or bodiless: a HEAD's, a 204, a 304) whose body fits
// the peer's windows, and closes the connection on anything else. So the two relays differ in
// their transport only, and the gap between them is what NIO's channels cost a request.
//
// It is a measuring instrument, not a proxy: no checks of the bytes it forwards, no limits beyond
// its buffers', no timeouts, no metrics. Do not put it in front of anything.
//
//   EpollRelay PORT 127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083

/// Bytes read from a socket and not yet used, in a buffer the connection keeps (grown up to
/// `limit` when a message does not fit).
struct SocketInput {
    private(set) var buffer: ByteBuffer
    let limit: Int

    init(capacity: Int, limit: Int) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
        self.limit = limit
    }

    var count: Int { buffer.readableBytes }

    /// Reads what `fd` has into the free space: the count read, 0 at the end of the stream, -1
    /// when nothing is there now (`EAGAIN`), -2 on an error or when the buffer is at its limit.
    mutating func read(from fd: Int32) -> Int {
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.writableBytes < 1024, buffer.readerIndex > 0 {
            buffer.discardReadBytes()
        }
        if buffer.writableBytes == 0 {
            guard buffer.capacity < limit else { return -2 }
            buffer.reserveCapacity(min(buffer.capacity * 2, limit))
        }
        var result = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { free in
            let count = Glibc.read(fd, free.baseAddress, free.count)
            result = count >= 0 ? count : (errno == EAGAIN ? -1 : -2)
            return max(count, 0)
        }
        return result
    }

    /// Calls `body` with the bytes read and not yet used.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws(HeadReader.Failure) -> Result) throws(HeadReader.Failure) -> Result {
        try buffer.withUnsafeReadableBytes { bytes throws(HeadReader.Failure) in try body(bytes) }
    }

    /// The next `count` bytes, taken out.
    mutating func take(_ count: Int) -> ByteBuffer { buffer.readSlice(length: count)! }

    mutating func skip(_ count: Int) { buffer.moveReaderIndex(forwardBy: count) }
}

/// Bytes a socket did not take yet (a short write): kept until it is writable again.
struct PendingOutput {
    private(set) var bytes: [UInt8] = []

    var isEmpty: Bool { bytes.isEmpty }

    /// Writes `data` (after what is pending) to `fd`, keeping what it does not take; false on an
    /// error.
    mutating func write(_ data: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
        if bytes.isEmpty {
            let written = Glibc.write(fd, data.baseAddress, data.count)
            if written == data.count { return true }
            if written < 0 && errno != EAGAIN { return false }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[max(written, 0)...]))
            return true
        }
        append(data)
        return flush(to: fd)
    }

    /// Keeps `data` to write when the socket can take it (its connect completes).
    mutating func append(_ data: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: data)
    }

    /// Writes what is pending; false on an error.
    mutating func flush(to fd: Int32) -> Bool {
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written < 0 { return errno == EAGAIN }
        bytes.removeFirst(written)
        return true
    }
}

/// What a response head says: the whole response's length, whether the connection stays open,
/// and for an HTTP/2 client the fields it keeps.
struct ResponseFraming {
    var length: Int
    var bodyLength: Int
    var keepsAlive: Bool
    var fields: HPACKHeaders?
}

/// HTTP/1.1 heads, read in place.
enum HeadReader {
    private static let get = Array("GET ".utf8)
    private static let head = Array("HEAD ".utf8)
    private static let requestVersion = Array(" HTTP/1.1".utf8)
    private static let responseVersion = Array("HTTP/1.1 ".utf8)
    private static let contentLength = Array("content-length".utf8)
    private static let transferEncoding = Array("transfer-encoding".utf8)
    private static let connection = Array("connection".utf8)
    private static let keepAlive = Array("keep-alive".utf8)
    private static let close = Array("close".utf8)

    enum Failure: Error { case unrelayable }

    /// Calls `body` with each line of the head at the start of `bytes` (without its CRLF) until
    /// the blank line ends the head; the head's length then, nil while it is not whole. Throws on
    /// a line feed without its carriage return.
    private static func lines(
        _ bytes: UnsafeRawBufferPointer,
        _ body: (_ line: UnsafeRawBufferPointer, _ first: Bool) throws(Failure) -> Void
    ) throws(Failure) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var start = 0
        while start < bytes.count, let found = memchr(base + start, 0x0A, bytes.count - start) {
            let end = base.distance(to: UnsafeRawPointer(found))
            guard end > start, bytes[end - 1] == 0x0D else { throw .unrelayable }
            let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end - 1])
            if line.isEmpty { return end + 1 }
            try body(line, start == 0)
            start = end + 1
        }
        return nil
    }

    /// The length of a bodiless `GET` or `HEAD` request's head once it is whole, and whether it
    /// is a HEAD's; throws on any other request.
    static func request(in bytes: UnsafeRawBufferPointer) throws(Failure) -> (length: Int, isHead: Bool)? {
        let length = try lines(bytes) { line, first throws(Failure) in
            if first {
                guard line.starts(with: get) || line.starts(with: head), line.suffix(requestVersion.count).elementsEqual(requestVersion)
                else { throw .unrelayable }
            } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
                if spells(name, contentLength) || spells(name, transferEncoding) { throw .unrelayable }  // a body
            }
        }
        return length.map { ($0, bytes.starts(with: head)) }
    }

    /// The framing of the response at the start of `bytes` once its head is whole (nil until
    /// then), with its fields for an HTTP/2 client when `wantsFields`; throws on an interim
    /// status, a transfer coding, or a body without `content-length`.
    static func response(in bytes: UnsafeRawBufferPointer, bodiless: Bool, wantsFields: Bool) throws(Failure) -> ResponseFraming? {
        var status = 0
        var bodyLength: Int?
        var keepsAlive = true
        var fields = HPACKHeaders()
        let headLength = try lines(bytes) { line, first throws(Failure) in
            if first {
                guard line.count >= 12, line.starts(with: responseVersion),
                    let code = decimal(UnsafeRawBufferPointer(rebasing: line[9..<12])), code >= 200
                else { throw .unrelayable }
                status = code
                if wantsFields { fields.add(name: ":status", value: String(decoding: line[9..<12], as: UTF8.self)) }
                return
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .unrelayable }
            let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
            let value = trimmed(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
            if spells(name, contentLength) {
                guard bodyLength == nil, let length = decimal(value) else { throw .unrelayable }
                bodyLength = length
            } else if spells(name, transferEncoding) {
                throw .unrelayable
            } else if spells(name, connection) {
                if spells(value, close) { keepsAlive = false }
                return
            } else if spells(name, keepAlive) {
                return
            }
            if wantsFields {
                let lowercased = String(unsafeUninitializedCapacity: name.count) { target in
                    for (offset, byte) in name.enumerated() { target[offset] = byte | (byte &- 0x41 < 26 ? 0x20 : 0) }
                    return name.count
                }
                fields.add(name: lowercased, value: String(decoding: value, as: UTF8.self))
            }
        }
        guard let headLength else { return nil }
        let body: Int
        if bodiless || status == 204 || status == 304 {
            body = 0
        } else if let bodyLength {
            body = bodyLength
        } else {
            throw .unrelayable  // chunked or to the close
        }
        return ResponseFraming(length: headLength + body, bodyLength: body, keepsAlive: keepsAlive, fields: wantsFields ? fields : nil)
    }

    /// `bytes` without the spaces and tabs around them.
    private static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var (low, high) = (0, bytes.count)
        while low < high, bytes[low] == 0x20 || bytes[low] == 0x09 { low += 1 }
        while high > low, bytes[high - 1] == 0x20 || bytes[high - 1] == 0x09 { high -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[low..<high])
    }

    /// Whether `bytes` spell `lowercase` (lower-case letters and dashes) in any case.
    private static func spells(_ bytes: UnsafeRawBufferPointer, _ lowercase: [UInt8]) -> Bool {
        bytes.count == lowercase.count && zip(bytes, lowercase).allSatisfy { $0 | 0x20 == $1 }
    }

    /// `bytes` as a decimal number of one to 18 digits, nil otherwise.
    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard (1...18).contains(bytes.count) else { return nil }
        return bytes.reduce(into: Int?(0)) { value, byte in
            value = (0x30...0x39).contains(byte) ? value.map { $0 * 10 + Int(byte - 0x30) } : nil
        }
    }
}

/// A client connection: HTTP/1.1 a request at a time, or h2c streams, each at an upstream.
final class ClientConnection {
    enum Mode { case detecting, http1, http2 }

    let fd: Int32
    var mode = Mode.detecting
    var closed = false
    var input = SocketInput(capacity: 16_384, limit: 65_536)
    var output = PendingOutput()
    /// HTTP/1.1: whether a request is at an upstream (the next waits for its response).
    var awaitingResponse = false
    /// h2c: the frames answered in this pass of the loop, written at its end.
    var frames = ByteBufferAllocator().buffer(capacity: 0)
    var flushScheduled = false
    var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
    var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
    /// What the peer lets this side send: the connection's window and each new stream's.
    var connectionWindow = 65_535
    var streamWindow = 65_535

    init(fd: Int32) { self.fd = fd }
}

/// A keep-alive connection to one backend: a request out, a response in.
final class UpstreamConnection {
    let fd: Int32
    let backend: Int
    var connected = false
    var input = SocketInput(capacity: 16_384, limit: 1 << 20)
    var output = PendingOutput()
    /// The client whose request is here, and its stream (0 for HTTP/1.1).
    var client: ClientConnection?
    var stream: UInt32 = 0
    /// Whether the response has no body, whatever its `content-length` says (a HEAD's).
    var bodiless = false

    init(fd: Int32, backend: Int) {
        self.fd = fd
        self.backend = backend
    }
}

/// The loop: every socket, the idle upstream connections, the round-robin position.
final class Relay {
    private enum Socket {
        case listener
        case client(ClientConnection)
        case upstream(UpstreamConnection)
    }

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// The longest HTTP/1.1 request head read.
    private static let maxHead = 8192

    private let poll: Int32
    private let backends: [sockaddr_in]
    /// Each open socket, by descriptor, with its registration: an event carries both
    /// (`data.u64`), so one queued for a socket closed earlier in the same pass never reaches a
    /// new socket that took its descriptor.
    private var sockets: [(registration: UInt32, socket: Socket)?] = []
    private var nextRegistration: UInt32 = 0
    private var idle: [[UpstreamConnection]]
    private var next = 0
    /// h2c clients with frames to write at the end of this pass.
    private var flushes: [ClientConnection] = []

    init(port: UInt16, backends: [sockaddr_in]) {
        self.backends = backends
        idle = Array(repeating: [], count: backends.count)
        poll = epoll_create1(Int32(EPOLL_CLOEXEC))
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard poll >= 0, listener >= 0, bound == 0, listen(listener, 1024) == 0 else {
            fatalError("EpollRelay: cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        register(listener, as: .listener, events: EPOLLIN.rawValue)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    func run() -> Never {
        let capacity: Int32 = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        while true {
            let count = epoll_wait(poll, events, capacity, -1)
            guard count >= 0 else {
                if errno == EINTR { continue }
                fatalError("EpollRelay: epoll_wait: \(String(cString: strerror(errno)))")
            }
            for index in 0..<Int(count) {
                let event = events[index]
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: event.data.u64))
                guard Int(fd) < sockets.count, let (registration, socket) = sockets[Int(fd)],
                    registration == UInt32(truncatingIfNeeded: event.data.u64 >> 32)
                else { continue }  // closed earlier in this pass
                let failed = event.events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
                let writable = event.events & EPOLLOUT.rawValue != 0
                switch socket {
                case .listener: accept(on: fd)
                case .client(let client): clientReady(client, writable: writable, failed: failed)
                case .upstream(let upstream): upstreamReady(upstream, writable: writable, failed: failed)
                }
            }
            flushFrames()
        }
    }

    // MARK: Sockets

    private func register(_ fd: Int32, as socket: Socket, events: UInt32) {
        while sockets.count <= Int(fd) { sockets.append(nil) }
        nextRegistration &+= 1
        sockets[Int(fd)] = (nextRegistration, socket)
        var event = epoll_event(events: events, data: data(fd))
        epoll_ctl(poll, EPOLL_CTL_ADD, fd, &event)
    }

    /// What an event on `fd` carries: its registration, then the descriptor.
    private func data(_ fd: Int32) -> epoll_data_t {
        epoll_data_t(u64: UInt64(sockets[Int(fd)]?.registration ?? 0) << 32 | UInt64(UInt32(bitPattern: fd)))
    }

    /// Asks for writability too while `wantsWrite` (a short write is pending, or a connect).
    private func watch(_ fd: Int32, wantsWrite: Bool) {
        var event = epoll_event(events: EPOLLIN.rawValue | (wantsWrite ? EPOLLOUT.rawValue : 0), data: data(fd))
        epoll_ctl(poll, EPOLL_CTL_MOD, fd, &event)
    }

    private func forget(_ fd: Int32) {
        sockets[Int(fd)] = nil
        close(fd)  // also leaves the epoll set
    }

    private func accept(on listener: Int32) {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            register(fd, as: .client(ClientConnection(fd: fd)), events: EPOLLIN.rawValue)
        }
    }

    // MARK: Clients

    private func clientReady(_ client: ClientConnection, writable: Bool, failed: Bool) {
        if failed { return closeClient(client) }
        if writable {
            guard client.output.flush(to: client.fd) else { return closeClient(client) }
            if client.output.isEmpty { watch(client.fd, wantsWrite: false) }
        }
        let count = client.input.read(from: client.fd)
        if count == 0 || count == -2 { return closeClient(client) }
        switch client.mode {
        case .http1:
            relayNextRequest(of: client)
        case .http2:
            readFrames(of: client)
        case .detecting:
            // The preface's bytes so far: anything else is HTTP/1.1; all of them, HTTP/2.
            let received = client.input.buffer.readableBytesView.prefix(Self.preface.count)
            guard received.elementsEqual(Self.preface.prefix(received.count)) else {
                client.mode = .http1
                return relayNextRequest(of: client)
            }
            guard received.count == Self.preface.count else { return }
            client.input.skip(Self.preface.count)
            client.mode = .http2
            writeFrameHeader(length: 6, type: 0x4, flags: 0, stream: 0, into: &client.frames)
            client.frames.writeInteger(UInt16(0x3))  // SETTINGS_MAX_CONCURRENT_STREAMS
            client.frames.writeInteger(UInt32(100))
            scheduleFlush(client)
            readFrames(of: client)
        }
    }

    /// Sends the client's next whole HTTP/1.1 request head to an upstream, unless one is there
    /// already or the last response is still going out.
    private func relayNextRequest(of client: ClientConnection) {
        guard !client.awaitingResponse, client.output.isEmpty, client.input.count > 0 else { return }
        let head: (length: Int, isHead: Bool)?
        do {
            head = try client.input.withBytes { bytes throws(HeadReader.Failure) in try HeadReader.request(in: bytes) }
        } catch {
            return closeClient(client)
        }
        guard let (length, isHead) = head, length <= Self.maxHead else {
            if client.input.count > Self.maxHead { closeClient(client) }
            return
        }
        client.awaitingResponse = true
        send(client.input.take(length), bodiless: isHead, for: 0, of: client)
    }

    /// Handles the client's whole frames.
    private func readFrames(of client: ClientConnection) {
        while client.input.count >= 9, !client.closed {
            let buffer = client.input.buffer
            let start = buffer.readerIndex
            let word = buffer.getInteger(at: start, as: UInt32.self)!
            let length = Int(word >> 8)
            guard length <= 16_384 else { return closeClient(client) }  // SETTINGS_MAX_FRAME_SIZE
            guard client.input.count >= 9 + length else { return }
            let type = UInt8(truncatingIfNeeded: word)
            let flags = buffer.getInteger(at: start + 4, as: UInt8.self)!
            let stream = buffer.getInteger(at: start + 5, as: UInt32.self)! & 0x7FFF_FFFF
            client.input.skip(9)
            let payload = client.input.take(length)
            guard handleFrame(type: type, flags: flags, stream: stream, payload: payload, of: client) else { return closeClient(client) }
        }
    }

    /// Handles one frame; false closes the connection.
    private func handleFrame(type: UInt8, flags: UInt8, stream: UInt32, payload: ByteBuffer, of client: ClientConnection) -> Bool {
        var payload = payload
        switch type {
        case 0x1:  // HEADERS
            guard flags & 0x4 != 0, flags & 0x1 != 0, stream != 0 else { return false }  // whole, bodiless
            if flags & 0x8 != 0 {
                guard let pad = payload.readInteger(as: UInt8.self), Int(pad) <= payload.readableBytes else { return false }
                payload = payload.getSlice(at: payload.readerIndex, length: payload.readableBytes - Int(pad))!
            }
            if flags & 0x20 != 0 {
                guard payload.readableBytes >= 5 else { return false }
                payload.moveReaderIndex(forwardBy: 5)
            }
            guard let fields = try? client.decoder.decodeHeaders(from: &payload) else { return false }
            send(http1Request(for: fields, allocator: ByteBufferAllocator()), bodiless: fields.first(name: ":method") == "HEAD", for: stream, of: client)
        case 0x4:  // SETTINGS
            guard flags & 0x1 == 0 else { return true }
            while payload.readableBytes >= 6 {
                let id: UInt16 = payload.readInteger()!
                let value: UInt32 = payload.readInteger()!
                if id == 0x4 { client.streamWindow = Int(value) }
            }
            writeFrameHeader(length: 0, type: 0x4, flags: 0x1, stream: 0, into: &client.frames)
            scheduleFlush(client)
        case 0x6:  // PING
            guard flags & 0x1 == 0, payload.readableBytes == 8 else { return true }
            writeFrameHeader(length: 8, type: 0x6, flags: 0x1, stream: 0, into: &client.frames)
            client.frames.writeBuffer(&payload)
            scheduleFlush(client)
        case 0x7:  // GOAWAY
            return false
        case 0x8:  // WINDOW_UPDATE
            if stream == 0, let increment = payload.readInteger(as: UInt32.self) { client.connectionWindow += Int(increment & 0x7FFF_FFFF) }
        default:  // PRIORITY, RST_STREAM (the answer is sent anyway), unknown types
            break
        }
        return true
    }

    private func writeFrameHeader(length: Int, type: UInt8, flags: UInt8, stream: UInt32, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(length) << 8 | UInt32(type))
        buffer.writeInteger(flags)
        buffer.writeInteger(stream)
    }

    /// Answers `stream` with a HEADERS and a DATA frame, written at the end of this pass.
    private func respond(to stream: UInt32, of client: ClientConnection, fields: HPACKHeaders, body: ByteBuffer) {
        let length = body.readableBytes
        guard length <= min(client.connectionWindow, client.streamWindow) else { return closeClient(client) }
        client.connectionWindow -= length
        let start = client.frames.writerIndex
        writeFrameHeader(length: 0, type: 0x1, flags: length == 0 ? 0x5 : 0x4, stream: stream, into: &client.frames)
        guard (try? client.encoder.encode(headers: fields, to: &client.frames)) != nil else { return closeClient(client) }
        let blockLength = client.frames.writerIndex - start - 9
        client.frames.setInteger(UInt32(blockLength) << 8 | 0x1, at: start)
        if length > 0 {
            var body = body
            writeFrameHeader(length: length, type: 0x0, flags: 0x1, stream: stream, into: &client.frames)
            client.frames.writeBuffer(&body)
        }
        scheduleFlush(client)
    }

    private func scheduleFlush(_ client: ClientConnection) {
        guard !client.flushScheduled else { return }
        client.flushScheduled = true
        flushes.append(client)
    }

    /// Writes the frames each h2c client was answered in this pass, in one write each.
    private func flushFrames() {
        for client in flushes {
            client.flushScheduled = false
            guard !client.closed else { continue }
            let written = client.frames.withUnsafeReadableBytes { client.output.write($0, to: client.fd) }
            client.frames.clear()
            guard written else {
                closeClient(client)
                continue
            }
            if !client.output.isEmpty { watch(client.fd, wantsWrite: true) }
        }
        flushes.removeAll(keepingCapacity: true)
    }

    private func closeClient(_ client: ClientConnection) {
        guard !client.closed else { return }
        client.closed = true
        forget(client.fd)  // its upstreams finish their responses and go back to the pool
    }

    // MARK: Upstreams

    /// Sends `request` to the next backend, on an idle connection or a new one.
    private func send(_ request: ByteBuffer, bodiless: Bool, for stream: UInt32, of client: ClientConnection) {
        let upstream = takeUpstream()
        upstream.client = client
        upstream.stream = stream
        upstream.bodiless = bodiless
        if upstream.connected {
            guard request.withUnsafeReadableBytes({ upstream.output.write($0, to: upstream.fd) }) else { return closeUpstream(upstream) }
            if !upstream.output.isEmpty { watch(upstream.fd, wantsWrite: true) }
        } else {
            request.withUnsafeReadableBytes { upstream.output.append($0) }  // written once the connect completes
        }
    }

    /// An idle connection to the next backend, or a new one.
    private func takeUpstream() -> UpstreamConnection {
        let backend = next
        next = (next + 1) % backends.count
        if let upstream = idle[backend].popLast() { return upstream }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { fatalError("EpollRelay: socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = backends[backend]
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let upstream = UpstreamConnection(fd: fd, backend: backend)
        register(fd, as: .upstream(upstream), events: EPOLLIN.rawValue | EPOLLOUT.rawValue)
        return upstream
    }

    private func upstreamReady(_ upstream: UpstreamConnection, writable: Bool, failed: Bool) {
        if failed { return closeUpstream(upstream) }
        if writable {
            upstream.connected = true
            guard upstream.output.flush(to: upstream.fd) else { return closeUpstream(upstream) }
            if upstream.output.isEmpty { watch(upstream.fd, wantsWrite: false) }
        }
        let count = upstream.input.read(from: upstream.fd)
        if count == 0 || count == -2 { return closeUpstream(upstream) }
        guard count > 0 else { return }
        guard let client = upstream.client else { return closeUpstream(upstream) }  // bytes nothing asked for
        let framing: ResponseFraming?
        do {
            let (bodiless, wantsFields) = (upstream.bodiless, client.mode == .http2)
            framing = try upstream.input.withBytes { bytes throws(HeadReader.Failure) in
                try HeadReader.response(in: bytes, bodiless: bodiless, wantsFields: wantsFields)
            }
        } catch {
            return closeUpstream(upstream)
        }
        guard let framing, upstream.input.count >= framing.length else { return }
        let clean = framing.keepsAlive && upstream.input.count == framing.length
        let response = upstream.input.take(framing.length)
        upstream.client = nil
        if clean { idle[upstream.backend].append(upstream) } else { closeUpstream(upstream) }
        guard !client.closed else { return }
        if let fields = framing.fields {
            let body = response.getSlice(at: response.readerIndex + framing.length - framing.bodyLength, length: framing.bodyLength)!
            return respond(to: upstream.stream, of: client, fields: fields, body: body)
        }
        client.awaitingResponse = false
        guard response.withUnsafeReadableBytes({ client.output.write($0, to: client.fd) }) else { return closeClient(client) }
        if client.output.isEmpty { relayNextRequest(of: client) } else { watch(client.fd, wantsWrite: true) }
    }

    private func closeUpstream(_ upstream: UpstreamConnection) {
        guard case .upstream(let registered) = sockets[Int(upstream.fd)]?.socket, registered === upstream else { return }
        forget(upstream.fd)
        idle[upstream.backend].removeAll { $0 === upstream }
        if let client = upstream.client {
            upstream.client = nil
            closeClient(client)
        }
    }
}

let (port, backends) = relayArguments("EpollRelay")
let addresses = backends.map { backend -> sockaddr_in in
    guard case .v4(let v4) = backend else { fatalError("EpollRelay: a backend is an IPv4 address, not \(backend)") }
    return v4.address
}
signal(SIGPIPE, SIG_IGN)
Relay(port: port, backends: addresses).run()
