import NIOCore
import NIOHTTP1

/// Writes an HTTP/1.x client's responses as bytes, in place of NIO's `HTTPResponseEncoder`,
/// `NIOHTTPResponseHeadersValidator` and `HTTPServerProtocolErrorHandler` (three pipeline hops
/// per response part, a buffer per head, a header array copied to frame it).
///
/// - Framing follows NIO's encoder: a response to HEAD has no body and one to CONNECT no body
///   and no framing headers; a 1xx, 204 or 304 loses `content-length` and
///   `transfer-encoding`; any other response keeps its `content-length`, or, in HTTP/1.1, is
///   sent chunked; an HTTP/1.0 response without a length ends when the connection closes
///   (``ConnectionPersistence`` closes it).
/// - A head's fields are lines checked as they were made (``FieldLines``): one copy writes them.
///   Its status and reason phrase, and trailers, are checked as they are copied
///   (``HTTP1HeadWriting``). Any that would split the message are not written: the write
///   fails with ``UnsendableHead``, the handlers behind hear of it (the ``ProxyServerHandler``
///   closes the connection), and the rest of that response is dropped.
/// - A small response goes out as one buffer: the head waits in its loop's ``HeadScratch`` for
///   the body parts and end that follow it before the next flush, up to ``coalescedBytes`` in
///   all. One `write(2)` of one buffer instead of a `writev` of three, no allocation, and no
///   buffer held by an idle connection.
final class ClientResponseEncoder: ChannelOutboundHandler, RemovableChannelHandler, DirectlyWritten {
    typealias OutboundIn = ClientResponsePart
    typealias OutboundOut = IOData

    /// The most bytes staged (head and body parts copied next to it); a body part that would
    /// go past it is written as it is.
    static let coalescedBytes = 8192

    /// How the response being written frames its body.
    private enum Framing {
        /// `content-length`, or close-delimited (HTTP/1.0): body bytes as they are.
        case plain
        /// `transfer-encoding: chunked`.
        case chunked
        /// A response to HEAD or CONNECT: body parts are dropped.
        case none
    }

    private var framing = Framing.plain
    /// Set by ``answering(_:)`` for the response that comes next.
    private var nextAnswersBodiless = false
    private var nextAnswersConnect = false
    /// Set when a head or trailers were refused: the rest of the response is dropped.
    private var refused = false
    /// A head (and what followed it) not written to the channel yet: the next flush, a large
    /// body part, or a part with a promise writes it first. Borrowed from ``scratch``.
    private var staged: ByteBuffer?
    /// The loop's buffer for heads.
    private let scratch: HeadScratch
    private(set) var context: ChannelHandlerContext?

    private static let crlf = ByteBuffer(string: "\r\n")
    private static let lastChunk = ByteBuffer(string: "0\r\n\r\n")

    init(scratch: HeadScratch) {
        self.scratch = scratch
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Flushes for the connection's ``ProxyServerHandler``, as if it came through the pipeline.
    func flush() {
        guard let context else { return }
        flush(context: context)
    }

    /// Asks for the next read for the connection's ``ProxyServerHandler``, from the encoder's
    /// place in the pipeline: the one handler between them would only pass it on.
    func read() {
        context?.read()
    }

    /// Tells the encoder which request the next final response answers: HEAD and CONNECT
    /// responses carry no body (NIO's encoder heard this from its decoder).
    func answering(_ method: HTTPMethod) {
        // Matched by case: `==` on NIO's method copies its payload.
        switch method {
        case .HEAD: (nextAnswersBodiless, nextAnswersConnect) = (true, false)
        case .CONNECT: (nextAnswersBodiless, nextAnswersConnect) = (true, true)
        default: (nextAnswersBodiless, nextAnswersConnect) = (false, false)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        write(unwrapOutboundIn(data), context: context, promise: promise)
    }

    func write(_ part: ClientResponsePart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch part {
        case .head(var head):
            let code = head.status.code
            let informational = (100..<200).contains(code) && code != 101
            if informational {
                // An interim response has no body: no framing headers either.
                _ = Self.frame(&head, bodiless: true, connect: true)
            } else {
                refused = false
                framing = Self.frame(&head, bodiless: nextAnswersBodiless, connect: nextAnswersConnect)
                nextAnswersBodiless = false
                nextAnswersConnect = false
            }
            guard !refused else { return drop(promise, Refusal.refusedResponse) }
            writeStaged(context: context)
            var buffer = scratch.take(allocator: context.channel.allocator)
            do {
                try buffer.writeResponseHead(head)
            } catch {
                return refuse(error, context: context, promise: promise)
            }
            staged = buffer
            if promise != nil || informational { writeStaged(context: context, promise: promise) }
        case .body(let body):
            guard !refused else { return drop(promise, Refusal.refusedResponse) }
            guard framing != .none else { return drop(promise, Refusal.bodyNotAllowed) }
            writeBody(body, context: context, promise: promise)
        case .end(let trailers):
            guard !refused else { return drop(promise, Refusal.refusedResponse) }
            guard framing == .chunked else {
                if staged != nil {
                    writeStaged(context: context, promise: promise)
                } else if let promise {
                    // Nothing to write; an empty write keeps the promise in order with the others.
                    context.write(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: promise)
                }
                return
            }
            if staged == nil, trailers?.isEmpty ?? true {
                context.write(wrapOutboundOut(.byteBuffer(Self.lastChunk)), promise: promise)
                return
            }
            var buffer = staged ?? scratch.take(allocator: context.channel.allocator)
            staged = nil
            buffer.writeCopy(of: "0\r\n")
            do {
                try buffer.writeHeaderFields(trailers ?? [:])
            } catch {
                return refuse(error, context: context, promise: promise)
            }
            staged = buffer
            writeStaged(context: context, promise: promise)
        }
    }

    func flush(context: ChannelHandlerContext) {
        writeStaged(context: context)
        context.flush()
    }

    /// A body part: copied next to a staged head when small, written as it is otherwise
    /// (with its chunk's size line and CRLF when chunked).
    private func writeBody(_ body: IOData, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let size = body.readableBytes
        guard size > 0 else {
            // An empty chunk would end a chunked body: it only carries the promise along.
            if let promise { writeStaged(context: context); context.write(wrapOutboundOut(body), promise: promise) }
            return
        }
        if var buffer = staged, promise == nil, buffer.readableBytes + size <= Self.coalescedBytes, case .byteBuffer(var bytes) = body {
            staged = nil  // the buffer is not shared while it grows
            if framing == .chunked { writeChunkSize(size, into: &buffer) }
            buffer.writeBuffer(&bytes)
            if framing == .chunked { buffer.writeCopy(of: "\r\n") }
            staged = buffer
            return
        }
        writeStaged(context: context)
        guard framing == .chunked else {
            context.write(wrapOutboundOut(body), promise: promise)
            return
        }
        var line = context.channel.allocator.buffer(capacity: 18)
        writeChunkSize(size, into: &line)
        context.write(wrapOutboundOut(.byteBuffer(line)), promise: nil)
        context.write(wrapOutboundOut(body), promise: nil)
        context.write(wrapOutboundOut(.byteBuffer(Self.crlf)), promise: promise)
    }

    private func writeChunkSize(_ size: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(size, radix: 16))
        buffer.writeCopy(of: "\r\n")
    }

    /// Writes what is staged (if anything) to the channel.
    private func writeStaged(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        guard let buffer = staged else { return }
        staged = nil
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        scratch.give(buffer)
    }

    /// Why a part was not written.
    enum Refusal: Error {
        /// A body part of a response that has none (to HEAD or CONNECT, or a 1xx, 204, 304).
        case bodyNotAllowed
        /// A part of a response whose head or trailers were refused.
        case refusedResponse
    }

    /// A part that is not written: its promise fails.
    private func drop(_ promise: EventLoopPromise<Void>?, _ refusal: Refusal) {
        promise?.fail(refusal)
    }

    /// Refuses a head or trailers it will not write: what was staged of this response goes
    /// too, and the handlers behind hear of it (the server handler closes the connection).
    private func refuse(_ error: UnsendableHead, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        refused = true
        staged = nil
        promise?.fail(error)
        context.fireErrorCaught(error)
    }

    /// Sets a head's framing headers as NIO's encoder does and says how its body is framed.
    private static func frame(_ head: inout ResponseHead, bodiless: Bool, connect: Bool) -> Framing {
        let code = head.status.code
        guard !connect, code >= 200, code != 204, code != 304 else {
            head.fields.removeAll { HeaderText.equalsIgnoringCase($0, "content-length") || HeaderText.equalsIgnoringCase($0, "transfer-encoding") }
            return .none
        }
        let framing = head.fields.framingFields
        if framing.length {
            if framing.coding { head.fields.remove(name: "transfer-encoding") }
            return bodiless ? .none : .plain
        }
        guard head.version.major == 1, head.version.minor >= 1 else { return bodiless ? .none : .plain }
        head.fields.replaceOrAdd(name: "transfer-encoding", value: "chunked")
        return bodiless ? .none : .chunked
    }
}
