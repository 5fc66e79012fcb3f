import Glibc
import NIOCore
import NIOHPACK
import NIOPosix

// The floor of an HTTP proxy on SwiftNIO's channel pipeline, for issue 12's rows (see
// ../README.md): an h2c (prior knowledge) or HTTP/1.1 to HTTP/1.1 relay with an HTTP/2 layer
// of its own, no NIOHTTP2Handler. One handler per client connection parses frames in place,
// decodes field blocks with NIOHPACK, writes each stream's request to an idle keep-alive
// upstream connection (round-robin over the backends, pooled per process), reads the
// response's head and `content-length` body, and answers with a HEADERS and a DATA frame; the
// frames of every stream answered in one event-loop pass go out in one flush, as Switchyard's do.
//
// An HTTP/1.1 client connection is relayed a request at a time: the head found in place (up to
// its blank line), written as it came to an idle upstream connection taken round-robin per
// request, and the upstream's head and `content-length` body written back as they came, in
// one write and flush (`../shared/bench/nio-splice` is the byte splice with no HTTP at all).
//
// It is a measuring instrument, not a proxy: it serves bodiless requests (END_STREAM on
// HEADERS; `GET` or `HEAD` over HTTP/1.1) and `content-length` responses whose body fits the
// peer's windows, keeps no stream states beyond the in-flight table, and closes a connection
// on anything else. It has the I/O path Switchyard has (NIO channels, a pipeline per
// connection, NIOHPACK) and none of the work of a real proxy (routing, validation, limits,
// timeouts, metrics, balancing by load).
//
//   H2Relay PORT 127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083

/// Idle upstream connections, per backend, and the round-robin position.
final class UpstreamPool: @unchecked Sendable {
    let backends: [SocketAddress]
    private var idle: [[UpstreamLink]]
    private var next = 0

    init(backends: [SocketAddress]) {
        self.backends = backends
        self.idle = Array(repeating: [], count: backends.count)
    }

    /// Sends `request` to the next backend, on an idle connection or a new one.
    func send(_ request: ByteBuffer, for stream: UInt32, of client: RelayConnection, on loop: EventLoop) {
        let index = next
        next = (next + 1) % backends.count
        let link = idle[index].popLast() ?? UpstreamLink(pool: self, backend: index, loop: loop)
        link.start(request, for: stream, of: client)
    }

    func release(_ link: UpstreamLink) {
        idle[link.backend].append(link)
    }
}

/// A response as an upstream sent it: its fields (made only for an HTTP/2 client) and its
/// bytes, head and body.
struct RelayResponse {
    var fields: HPACKHeaders
    var message: ByteBuffer
    var body: ByteBuffer
}

/// One HTTP/1.1 keep-alive upstream connection: a request out, a response's head and
/// `content-length` body in.
final class UpstreamLink: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let backend: Int
    private let pool: UpstreamPool
    private var context: ChannelHandlerContext?
    /// The request written before the connection was up.
    private var pending: ByteBuffer?
    private var client: RelayConnection?
    private var stream: UInt32 = 0
    private var received: ByteBuffer?
    /// Whether the client wants the response's fields (HTTP/2), not only its bytes.
    private var wantsFields = true
    private var head: HPACKHeaders?
    private var headLength = 0
    private var bodyLength = 0

    init(pool: UpstreamPool, backend: Int, loop: EventLoop) {
        self.pool = pool
        self.backend = backend
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(self) }
            }
            .connect(to: pool.backends[backend])
            .whenFailure { _ in self.fail() }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let pending {
            self.pending = nil
            context.writeAndFlush(NIOAny(pending), promise: nil)
        }
    }

    func start(_ request: ByteBuffer, for stream: UInt32, of client: RelayConnection) {
        self.client = client
        self.stream = stream
        wantsFields = client.isHTTP2
        if let context { context.writeAndFlush(NIOAny(request), promise: nil) } else { pending = request }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil { received = bytes } else { received!.writeBuffer(&bytes) }
        if head == nil, !readHead() { return }
        guard let head, let bytes = received, bytes.readableBytes >= headLength + bodyLength else { return }
        let response = RelayResponse(
            fields: head, message: bytes.getSlice(at: bytes.readerIndex, length: headLength + bodyLength)!,
            body: bytes.getSlice(at: bytes.readerIndex + headLength, length: bodyLength)!)
        received = nil
        self.head = nil
        let (client, stream) = (self.client, self.stream)
        self.client = nil
        pool.release(self)
        client?.respond(to: stream, with: response)
    }

    /// Parses the response head when it is whole: its length, its `content-length`, and for an
    /// HTTP/2 client `:status` and the fields HTTP/2 keeps.
    private func readHead() -> Bool {
        guard let bytes = received else { return false }
        let wantsFields = wantsFields
        let parsed = bytes.withUnsafeReadableBytes { raw -> (Int, HPACKHeaders, Int)? in
            var lineStart = 0
            var fields = HPACKHeaders()
            var length = 0
            while let line = Self.line(in: raw, from: lineStart) {
                let isStatusLine = lineStart == 0  // "HTTP/1.1 200 OK"
                lineStart += line.count + 2
                if line.isEmpty { return (lineStart, fields, length) }
                if isStatusLine {
                    guard line.count >= 12 else { return nil }
                    if wantsFields { fields.add(name: ":status", value: String(decoding: line[9..<12], as: UTF8.self)) }
                    continue
                }
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
                var valueStart = colon + 1
                while valueStart < line.count, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
                guard wantsFields else {
                    if Self.isContentLength(UnsafeRawBufferPointer(rebasing: line[..<colon])) {
                        length = line[valueStart...].reduce(0) { $0 &* 10 &+ Int($1 &- 0x30) }
                    }
                    continue
                }
                let name = String(unsafeUninitializedCapacity: colon) { name in
                    for offset in 0..<colon { name[offset] = line[offset] | (line[offset] &- 0x41 < 26 ? 0x20 : 0) }
                    return colon
                }
                let value = String(decoding: line[valueStart...], as: UTF8.self)
                switch name {
                case "connection", "keep-alive", "transfer-encoding": continue
                case "content-length": length = Int(value) ?? 0
                default: break
                }
                fields.add(name: name, value: value)
            }
            return nil
        }
        guard let (headLength, fields, length) = parsed else { return false }
        head = fields
        self.headLength = headLength
        bodyLength = length
        return true
    }

    /// The line starting at `start` (up to its CRLF, found with `memchr`), or nil when it is not
    /// whole.
    static func line(in raw: UnsafeRawBufferPointer, from start: Int) -> UnsafeRawBufferPointer? {
        guard let base = raw.baseAddress, start < raw.count, let found = memchr(base + start, 0x0A, raw.count - start) else { return nil }
        let end = base.distance(to: UnsafeRawPointer(found))
        guard end > start, raw[end - 1] == 0x0D else { return nil }
        return UnsafeRawBufferPointer(rebasing: raw[start..<end - 1])
    }

    private static let contentLength = Array("content-length".utf8)

    /// Whether a field's name is `content-length`, in any case.
    private static func isContentLength(_ name: UnsafeRawBufferPointer) -> Bool {
        guard name.count == contentLength.count else { return false }
        for index in 0..<name.count where name[index] | 0x20 != contentLength[index] { return false }
        return true
    }

    func channelInactive(context: ChannelHandlerContext) { fail() }

    private func fail() {
        client?.close()
        client = nil
    }
}

/// One client connection: detects h2c by its preface, then relays its streams; anything else is
/// relayed as HTTP/1.1 a request at a time.
final class RelayConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private enum Mode { case detecting, http2, http1 }

    /// The longest HTTP/1.1 request head relayed.
    private static let maxHead = 8192

    private let pool: UpstreamPool
    private var context: ChannelHandlerContext?
    private var mode = Mode.detecting
    private var inbound: ByteBuffer?
    private var decoder: HPACKDecoder
    private var encoder: HPACKEncoder
    /// What the peer lets this side send: the connection's window and each new stream's.
    private var connectionWindow = 65_535
    private var streamWindow = 65_535
    private var flushScheduled = false
    /// Whether an HTTP/1.1 request is at an upstream: the next one waits for its response.
    private var awaitingResponse = false

    var isHTTP2: Bool { mode == .http2 }

    init(pool: UpstreamPool, allocator: ByteBufferAllocator) {
        self.pool = pool
        decoder = HPACKDecoder(allocator: allocator)
        encoder = HPACKEncoder(allocator: allocator)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if inbound == nil || inbound!.readableBytes == 0 { inbound = bytes } else { inbound!.writeBuffer(&bytes) }
        if mode == .http1 { return relayNextRequest(context: context) }
        if mode == .detecting {
            guard inbound!.readableBytes >= Self.preface.count else { return }
            guard inbound!.readableBytesView.starts(with: Self.preface) else {
                mode = .http1
                return relayNextRequest(context: context)
            }
            inbound!.moveReaderIndex(forwardBy: Self.preface.count)
            mode = .http2
            var settings = context.channel.allocator.buffer(capacity: 15)
            writeFrameHeader(length: 6, type: 0x4, flags: 0, stream: 0, into: &settings)
            settings.writeInteger(UInt16(0x3))  // SETTINGS_MAX_CONCURRENT_STREAMS
            settings.writeInteger(UInt32(100))
            context.write(NIOAny(settings), promise: nil)
            scheduleFlush()
        }
        while let frame = nextFrame() {
            guard handle(frame, context: context) else { return close() }
        }
    }

    /// Sends the next whole HTTP/1.1 request head to an upstream, unless one is there already.
    private func relayNextRequest(context: ChannelHandlerContext) {
        guard !awaitingResponse, var buffer = inbound else { return }
        // The head's length once its blank line came, and whether it is a GET or a HEAD.
        let found = buffer.withUnsafeReadableBytes { raw -> (length: Int, bodiless: Bool)? in
            var start = 0
            while let line = UpstreamLink.line(in: raw, from: start) {
                start += line.count + 2
                if line.isEmpty {
                    let bodiless = raw.starts(with: [0x47, 0x45, 0x54, 0x20]) || raw.starts(with: [0x48, 0x45, 0x41, 0x44, 0x20])
                    return (start, bodiless)
                }
            }
            return nil
        }
        guard let found else {
            if buffer.readableBytes > Self.maxHead { close() }
            return
        }
        guard found.bodiless else { return close() }
        let headLength = found.length
        let head = buffer.readSlice(length: headLength)!
        inbound = buffer
        awaitingResponse = true
        pool.send(head, for: 0, of: self, on: context.eventLoop)
    }

    private struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: ByteBuffer
    }

    private func nextFrame() -> Frame? {
        guard var buffer = inbound, buffer.readableBytes >= 9,
            let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map({ Int($0 >> 8) }),
            buffer.readableBytes >= 9 + length
        else { return nil }
        buffer.moveReaderIndex(forwardBy: 3)
        let type: UInt8 = buffer.readInteger()!
        let flags: UInt8 = buffer.readInteger()!
        let stream = buffer.readInteger(as: UInt32.self)! & 0x7FFF_FFFF
        let payload = buffer.readSlice(length: length)!
        inbound = buffer
        return Frame(type: type, flags: flags, stream: stream, payload: payload)
    }

    /// Handles one frame; false closes the connection.
    private func handle(_ frame: Frame, context: ChannelHandlerContext) -> Bool {
        var payload = frame.payload
        switch frame.type {
        case 0x1:  // HEADERS
            guard frame.flags & 0x4 != 0, frame.flags & 0x1 != 0 else { return false }  // whole, bodiless
            if frame.flags & 0x8 != 0, let pad = payload.readInteger(as: UInt8.self) {
                payload = payload.getSlice(at: payload.readerIndex, length: payload.readableBytes - Int(pad)) ?? payload
            }
            if frame.flags & 0x20 != 0 { payload.moveReaderIndex(forwardBy: 5) }
            guard let fields = try? decoder.decodeHeaders(from: &payload) else { return false }
            pool.send(request(fields, allocator: context.channel.allocator), for: frame.stream, of: self, on: context.eventLoop)
        case 0x4:  // SETTINGS
            guard frame.flags & 0x1 == 0 else { return true }
            while payload.readableBytes >= 6 {
                let id: UInt16 = payload.readInteger()!
                let value: UInt32 = payload.readInteger()!
                if id == 0x4 { streamWindow = Int(value) }
            }
            var ack = context.channel.allocator.buffer(capacity: 9)
            writeFrameHeader(length: 0, type: 0x4, flags: 0x1, stream: 0, into: &ack)
            context.write(NIOAny(ack), promise: nil)
            scheduleFlush()
        case 0x6:  // PING
            guard frame.flags & 0x1 == 0 else { return true }
            var ack = context.channel.allocator.buffer(capacity: 17)
            writeFrameHeader(length: 8, type: 0x6, flags: 0x1, stream: 0, into: &ack)
            ack.writeBuffer(&payload)
            context.write(NIOAny(ack), promise: nil)
            scheduleFlush()
        case 0x7:  // GOAWAY
            return false
        case 0x8:  // WINDOW_UPDATE
            if frame.stream == 0, let increment = payload.readInteger(as: UInt32.self) { connectionWindow += Int(increment) }
        default:  // PRIORITY, RST_STREAM (the answer is sent anyway), unknown types
            break
        }
        return true
    }

    /// The HTTP/1.1 request for a stream's fields.
    private func request(_ fields: HPACKHeaders, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeString(fields.first(name: ":method") ?? "GET")
        buffer.writeStaticString(" ")
        buffer.writeString(fields.first(name: ":path") ?? "/")
        buffer.writeStaticString(" HTTP/1.1\r\nhost: ")
        buffer.writeString(fields.first(name: ":authority") ?? "")
        buffer.writeStaticString("\r\n")
        for field in fields where !field.name.hasPrefix(":") {
            buffer.writeString(field.name)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// Answers an HTTP/1.1 client with the response's bytes as they came, or `stream` with a
    /// HEADERS and a DATA frame.
    func respond(to stream: UInt32, with response: RelayResponse) {
        guard let context else { return }
        guard mode == .http2 else {
            context.writeAndFlush(NIOAny(response.message), promise: nil)
            awaitingResponse = false
            return relayNextRequest(context: context)
        }
        let (head, body) = (response.fields, response.body)
        let length = body.readableBytes
        guard length <= min(connectionWindow, streamWindow) else { return close() }
        connectionWindow -= length
        var frames = context.channel.allocator.buffer(capacity: 64 + length)
        frames.moveWriterIndex(forwardBy: 9)
        try? encoder.encode(headers: head, to: &frames)
        let blockLength = frames.writerIndex - 9
        frames.moveWriterIndex(to: 0)
        writeFrameHeader(length: blockLength, type: 0x1, flags: length == 0 ? 0x5 : 0x4, stream: stream, into: &frames)
        frames.moveWriterIndex(forwardBy: blockLength)
        if length > 0 {
            var body = body
            writeFrameHeader(length: length, type: 0x0, flags: 0x1, stream: stream, into: &frames)
            frames.writeBuffer(&body)
        }
        context.write(NIOAny(frames), promise: nil)
        scheduleFlush()
    }

    private func writeFrameHeader(length: Int, type: UInt8, flags: UInt8, stream: UInt32, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(length) << 8 | UInt32(type))
        buffer.writeInteger(flags)
        buffer.writeInteger(stream)
    }

    /// Flushes once the loop has handled this pass's I/O.
    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }

    func close() {
        context?.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let port = Int(arguments[1]) else {
    fatalError("usage: H2Relay PORT HOST:PORT[,HOST:PORT...]")
}
let backends = try arguments[2].split(separator: ",").map { address in
    let parts = address.split(separator: ":")
    return try SocketAddress(ipAddress: String(parts[0]), port: Int(parts[1]) ?? 0)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let pool = UpstreamPool(backends: backends)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RelayConnection(pool: pool, allocator: channel.allocator))
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()
try server.closeFuture.wait()
