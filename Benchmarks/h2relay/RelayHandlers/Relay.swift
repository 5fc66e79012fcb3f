import Glibc
import NIOCore
import NIOHPACK

// The floor of an HTTP proxy on SwiftNIO's channel pipeline, for issue 12's rows (see
// ../README.md): a relay from h2c (prior knowledge) or HTTP/1.1 clients to HTTP/1.1 upstreams.
// Its handlers are here; the transport under them is the product's: NIO's sockets in `H2Relay`,
// an epoll loop of its own in `ChannelRelay` (../../epollrelay).
// Each request goes to an idle keep-alive upstream connection (round-robin over the backends for
// every request, pooled per process), and the response's head and `content-length` body are
// read whole before they go back.
//
// - h2c: an HTTP/2 layer of its own, no NIOHTTP2Handler. One handler per client connection parses
//   frames in place and decodes field blocks with NIOHPACK; a stream's answer is a HEADERS and a
//   DATA frame, and the frames of every stream answered in one event-loop pass go out in one
//   flush, as Switchyard's do.
// - HTTP/1.1: a request at a time. Its head is found in place (up to its blank line) and written
//   upstream as it came; the response's bytes go back as they came, in one write and flush. (The
//   byte splice with no HTTP at all is the harness's `nio-splice`, ../../../shared/bench.)
//
// It is a measuring instrument, not a proxy. It serves bodiless requests (HEADERS with
// END_STREAM; an HTTP/1.1 `GET` or `HEAD` without a length) and responses framed by
// `content-length` (or without a body: a HEAD's, a 204, a 304) whose body fits the peer's
// windows. It closes the connection on the rest it notices (`Unrelayable`), and keeps no stream
// states beyond the in-flight table. It has the I/O path Switchyard has (NIO channels, a pipeline
// per connection, NIOHPACK) and none of a real proxy's work: no checks of the bytes it forwards,
// no rewritten heads, no routing, limits, timeouts, metrics or balancing by load.
//

/// Opens a connection to `address` on `loop` with `handler` in its pipeline: the future fails when
/// the connection does not come up.
public typealias UpstreamConnect = @Sendable (_ address: SocketAddress, _ loop: EventLoop, _ handler: UpstreamLink) -> EventLoopFuture<Void>

/// Idle upstream connections, per backend, and the round-robin position.
public final class UpstreamPool: @unchecked Sendable {
    let backends: [SocketAddress]
    let connect: UpstreamConnect
    private var idle: [[UpstreamLink]]
    private var next = 0

    public init(backends: [SocketAddress], connect: @escaping UpstreamConnect) {
        self.backends = backends
        self.connect = connect
        self.idle = Array(repeating: [], count: backends.count)
    }

    /// Sends `request` to the next backend, on an idle connection or a new one; `bodiless` when
    /// its response has no body whatever its `content-length` says (a HEAD request's).
    func send(_ request: ByteBuffer, bodiless: Bool, for stream: UInt32, of client: RelayConnection, on loop: EventLoop) {
        let index = next
        next = (next + 1) % backends.count
        let link = idle[index].popLast() ?? UpstreamLink(pool: self, backend: index, loop: loop)
        link.start(request, bodiless: bodiless, for: stream, of: client)
    }

    func release(_ link: UpstreamLink) {
        idle[link.backend].append(link)
    }

    /// Forgets a link whose connection closed.
    func remove(_ link: UpstreamLink) {
        idle[link.backend].removeAll { $0 === link }
    }
}

/// A response as an upstream sent it, as its client wants it: an HTTP/1.1 client its bytes,
/// head and body; an HTTP/2 client its fields and its body.
enum RelayResponse {
    case http1(ByteBuffer)
    case http2(fields: HPACKHeaders, body: ByteBuffer)
}

/// A message the relay does not handle: a request other than a bodiless HTTP/1.1 `GET` or
/// `HEAD`; a response without `content-length` (where it needs one), with a transfer coding or
/// an interim status, or with a malformed or overlong head. Its connection closes (an
/// upstream's, with its client's).
struct Unrelayable: Error {}

/// One HTTP/1.1 keep-alive upstream connection: a request out, a response's head and
/// `content-length` body in. It goes back to the pool only when the response left it clean
/// (whole, nothing after it, no `connection: close`); it closes, and its client with it, on a
/// response it does not handle.
public final class UpstreamLink: ChannelInboundHandler, @unchecked Sendable {
    public typealias InboundIn = ByteBuffer

    /// The longest response head read.
    private static let maxHead = 16_384

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
    /// Whether the response has no body, whatever its `content-length` says.
    private var bodiless = false
    private var head: ResponseHead?

    /// What a response head says.
    private struct ResponseHead {
        var length: Int
        var fields: HPACKHeaders
        var bodyLength: Int
        var keepsAlive: Bool
    }

    init(pool: UpstreamPool, backend: Int, loop: EventLoop) {
        self.pool = pool
        self.backend = backend
        pool.connect(pool.backends[backend], loop, self).whenFailure { _ in self.fail() }
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let pending {
            self.pending = nil
            context.writeAndFlush(NIOAny(pending), promise: nil)
        }
    }

    func start(_ request: ByteBuffer, bodiless: Bool, for stream: UInt32, of client: RelayConnection) {
        self.client = client
        self.stream = stream
        self.bodiless = bodiless
        wantsFields = client.isHTTP2
        if let context { context.writeAndFlush(NIOAny(request), promise: nil) } else { pending = request }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let client else { return context.close(promise: nil) }  // bytes nothing asked for
        var bytes = unwrapInboundIn(data)
        if received == nil { received = bytes } else { received!.writeBuffer(&bytes) }
        do {
            if self.head == nil { self.head = try readHead() }
            guard let head, let bytes = received, bytes.readableBytes >= head.length + head.bodyLength else { return }
            let response: RelayResponse =
                wantsFields
                ? .http2(fields: head.fields, body: bytes.getSlice(at: bytes.readerIndex + head.length, length: head.bodyLength)!)
                : .http1(bytes.getSlice(at: bytes.readerIndex, length: head.length + head.bodyLength)!)
            let clean = head.keepsAlive && bytes.readableBytes == head.length + head.bodyLength
            received = nil
            self.head = nil
            self.client = nil
            if clean { pool.release(self) } else { context.close(promise: nil) }
            client.respond(to: stream, with: response)
        } catch {
            context.close(promise: nil)
        }
    }

    /// Parses the response head when it is whole (nil until then): its length, its body's, and
    /// for an HTTP/2 client `:status` and the fields HTTP/2 keeps.
    private func readHead() throws(Unrelayable) -> ResponseHead? {
        guard let bytes = received else { return nil }
        let (wantsFields, bodiless) = (wantsFields, bodiless)
        let parsed = try bytes.withUnsafeReadableBytes { raw throws(Unrelayable) -> ResponseHead? in
            var lineStart = 0
            var head = ResponseHead(length: 0, fields: HPACKHeaders(), bodyLength: 0, keepsAlive: true)
            var status = 0
            var length: Int?
            while let line = try Self.line(in: raw, from: lineStart) {
                let isStatusLine = lineStart == 0
                lineStart += line.count + 2
                if isStatusLine {  // "HTTP/1.1 200 OK"
                    guard line.count >= 12, line.starts(with: Self.version),
                        let code = Self.decimal(UnsafeRawBufferPointer(rebasing: line[9..<12])), code >= 200
                    else { throw Unrelayable() }
                    status = code
                    if wantsFields { head.fields.add(name: ":status", value: String(decoding: line[9..<12], as: UTF8.self)) }
                    continue
                }
                if line.isEmpty {
                    head.length = lineStart
                    if bodiless || status == 204 || status == 304 {
                        head.bodyLength = 0
                    } else if let length {
                        head.bodyLength = length
                    } else {
                        throw Unrelayable()  // chunked or to the close
                    }
                    return head
                }
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw Unrelayable() }
                let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
                var valueStart = colon + 1
                var valueEnd = line.count
                while valueStart < valueEnd, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
                while valueEnd > valueStart, line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09 { valueEnd -= 1 }
                let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
                if Self.equalsIgnoringCase(name, Self.contentLength) {
                    guard length == nil, let parsed = Self.decimal(value) else { throw Unrelayable() }
                    length = parsed
                    if wantsFields { head.fields.add(name: "content-length", value: String(parsed)) }
                    continue
                }
                if Self.equalsIgnoringCase(name, Self.transferEncoding) { throw Unrelayable() }
                if Self.equalsIgnoringCase(name, Self.connection) {
                    if Self.equalsIgnoringCase(value, Self.close) { head.keepsAlive = false }
                    continue
                }
                if wantsFields, !Self.equalsIgnoringCase(name, Self.keepAlive) {
                    let lowercased = String(unsafeUninitializedCapacity: name.count) { target in
                        for offset in 0..<name.count { target[offset] = name[offset] | (name[offset] &- 0x41 < 26 ? 0x20 : 0) }
                        return name.count
                    }
                    head.fields.add(name: lowercased, value: String(decoding: value, as: UTF8.self))
                }
            }
            guard raw.count <= Self.maxHead else { throw Unrelayable() }
            return nil
        }
        return parsed
    }

    /// The line starting at `start` (up to its CRLF, found with `memchr`), or nil when it is not
    /// whole; throws on a line feed without its carriage return.
    static func line(in raw: UnsafeRawBufferPointer, from start: Int) throws(Unrelayable) -> UnsafeRawBufferPointer? {
        guard let base = raw.baseAddress, start < raw.count, let found = memchr(base + start, 0x0A, raw.count - start) else {
            return nil
        }
        let end = base.distance(to: UnsafeRawPointer(found))
        guard end > start, raw[end - 1] == 0x0D else { throw Unrelayable() }
        return UnsafeRawBufferPointer(rebasing: raw[start..<end - 1])
    }

    private static let version = Array("HTTP/1.1 ".utf8)
    static let contentLength = Array("content-length".utf8)
    static let transferEncoding = Array("transfer-encoding".utf8)
    private static let connection = Array("connection".utf8)
    private static let keepAlive = Array("keep-alive".utf8)
    private static let close = Array("close".utf8)

    /// Whether `bytes` spell `lowercase` (lower-case ASCII letters and dashes), in any case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: [UInt8]) -> Bool {
        guard bytes.count == lowercase.count else { return false }
        for index in 0..<bytes.count where bytes[index] | 0x20 != lowercase[index] { return false }
        return true
    }

    /// `bytes` as a decimal number: one to 18 digits and nothing else.
    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        pool.remove(self)
        fail()
    }

    private func fail() {
        client?.close()
        client = nil
    }
}

/// One client connection: detects h2c by its preface, then relays its streams; anything else is
/// relayed as HTTP/1.1 a request at a time.
public final class RelayConnection: ChannelInboundHandler, @unchecked Sendable {
    public typealias InboundIn = ByteBuffer

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private enum Mode { case detecting, http2, http1 }

    /// The longest HTTP/1.1 request head read.
    private static let maxHead = 8192
    private static let get = Array("GET ".utf8)
    private static let headMethod = Array("HEAD ".utf8)
    private static let version = Array(" HTTP/1.1".utf8)

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

    public init(pool: UpstreamPool, allocator: ByteBufferAllocator) {
        self.pool = pool
        decoder = HPACKDecoder(allocator: allocator)
        encoder = HPACKEncoder(allocator: allocator)
    }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if inbound == nil || inbound!.readableBytes == 0 { inbound = bytes } else { inbound!.writeBuffer(&bytes) }
        if mode == .http1 { return relayNextRequest(context: context) }
        if mode == .detecting {
            // The preface's bytes so far: anything else is HTTP/1.1; all of them, HTTP/2.
            let received = inbound!.readableBytesView.prefix(Self.preface.count)
            guard received.elementsEqual(Self.preface.prefix(received.count)) else {
                mode = .http1
                return relayNextRequest(context: context)
            }
            guard received.count == Self.preface.count else { return }
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
    /// Only an HTTP/1.1 `GET` or `HEAD` without a body is relayed; anything else closes.
    private func relayNextRequest(context: ChannelHandlerContext) {
        guard !awaitingResponse, var buffer = inbound else { return }
        let head: (length: Int, isHead: Bool)?
        do {
            head = try buffer.withUnsafeReadableBytes { raw throws(Unrelayable) in try Self.requestHead(in: raw) }
        } catch {
            return close()
        }
        guard head.map({ $0.length <= Self.maxHead }) ?? (buffer.readableBytes <= Self.maxHead) else { return close() }
        guard let (length, isHead) = head else { return }
        let request = buffer.readSlice(length: length)!
        inbound = buffer
        awaitingResponse = true
        // A dummy stream number: an HTTP/1.1 connection has one request at a time.
        pool.send(request, bodiless: isHead, for: 0, of: self, on: context.eventLoop)
    }

    /// The length of the request head at the start of `raw` once its blank line came (nil
    /// until then), and whether it is a HEAD's; throws on what is not a bodiless HTTP/1.1 `GET`
    /// or `HEAD`.
    private static func requestHead(in raw: UnsafeRawBufferPointer) throws(Unrelayable) -> (length: Int, isHead: Bool)? {
        var start = 0
        while let line = try UpstreamLink.line(in: raw, from: start) {
            if start == 0 {  // "GET / HTTP/1.1"
                guard line.starts(with: get) || line.starts(with: headMethod), line.suffix(version.count).elementsEqual(version)
                else { throw Unrelayable() }
            }
            start += line.count + 2
            if line.isEmpty { return (start, raw.starts(with: headMethod)) }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
            for framing in [UpstreamLink.contentLength, UpstreamLink.transferEncoding] where UpstreamLink.equalsIgnoringCase(name, framing) {
                throw Unrelayable()  // a body
            }
        }
        return nil
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
            let request = http1Request(for: fields, allocator: context.channel.allocator)
            pool.send(request, bodiless: fields.first(name: ":method") == "HEAD", for: frame.stream, of: self, on: context.eventLoop)
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

    /// Answers an HTTP/1.1 client with the response's bytes as they came, or `stream` with a
    /// HEADERS and a DATA frame.
    func respond(to stream: UInt32, with response: RelayResponse) {
        guard let context else { return }
        let (head, body): (HPACKHeaders, ByteBuffer)
        switch response {
        case .http1(let message):
            context.writeAndFlush(NIOAny(message), promise: nil)
            awaitingResponse = false
            return relayNextRequest(context: context)
        case .http2(let fields, let content):
            (head, body) = (fields, content)
        }
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

    public func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// The HTTP/1.1 request for an HTTP/2 stream's fields: its method, path and authority, then the
/// other fields as they came.
public func http1Request(for fields: HPACKHeaders, allocator: ByteBufferAllocator) -> ByteBuffer {
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

/// A relay's command line, `NAME PORT HOST:PORT[,HOST:PORT...]`: the port to listen on and the
/// backends' addresses. Stops the program with its usage when it is anything else.
public func relayArguments(_ name: String) -> (port: UInt16, backends: [SocketAddress]) {
    let arguments = CommandLine.arguments
    guard arguments.count == 3, let port = UInt16(arguments[1]) else {
        fatalError("usage: \(name) PORT HOST:PORT[,HOST:PORT...]")
    }
    let backends = arguments[2].split(separator: ",").map { address in
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), let backend = try? SocketAddress(ipAddress: String(parts[0]), port: port) else {
            fatalError("\(name): a backend is HOST:PORT, not \(address)")
        }
        return backend
    }
    return (port, backends)
}
