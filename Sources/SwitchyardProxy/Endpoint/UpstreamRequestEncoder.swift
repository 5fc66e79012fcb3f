import NIOCore
import NIOHTTP1

/// Writes the request parts the proxy sends an HTTP/1.1 upstream as bytes, in place of NIO's
/// `HTTPRequestEncoder`. The exchange has framed the head already (`content-length`,
/// `transfer-encoding: chunked`, or neither: no body), so the encoder only follows it: it never
/// edits the headers (NIO's would copy them to), and it writes each head into one scratch
/// buffer that it reuses once the socket has written the last one, so a request head costs no
/// allocation. Each part is checked as it is copied (``HTTP1HeadWriting``; a head's fields were
/// checked as they became lines): a request line or trailers that would split the message fail
/// the write and the channel with ``UnsendableHead``, which the exchange answers as an
/// unsendable request.
final class UpstreamRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler, DirectlyWritten {
    typealias OutboundIn = RequestPart
    typealias OutboundOut = IOData

    /// The framing of the request being written: chunked bodies get chunk framing.
    private var chunked = false
    /// Where heads are written; free again (uniquely referenced) once the channel wrote it.
    private var scratch = ByteBuffer()
    /// The most a pooled connection keeps of its scratch buffer after an unusually long head.
    private static let keptCapacity = 4096

    /// Bytes that never change, written as they are (a `ByteBuffer` is shared copy-on-write).
    private static let crlf = ByteBuffer(string: "\r\n")
    private static let lastChunk = ByteBuffer(string: "0\r\n\r\n")
    private static let nothing = ByteBuffer()

    /// The connection's response decoder, told which request each response answers.
    private var responses: UpstreamResponseDecoder?
    private(set) var context: ChannelHandlerContext?

    init(responses: UpstreamResponseDecoder? = nil) {
        self.responses = responses
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scratch = context.channel.allocator.buffer(capacity: 512)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        responses = nil
    }

    /// Flushes for the connection's ``UpstreamHandler``.
    func flush() {
        context?.flush()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        write(unwrapOutboundIn(data), context: context, promise: promise)
    }

    func write(_ part: RequestPart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch part {
        case .head(let head):
            responses?.requestSent(head.method)
            chunked = head.fields.contains(name: "transfer-encoding")
            scratch.clear()  // reuses the storage unless a write still holds it
            do {
                try scratch.writeRequestHead(head)
            } catch {
                refuse(error, context: context, promise: promise)
                return
            }
            context.write(wrapOutboundOut(.byteBuffer(scratch)), promise: promise)
            if scratch.capacity > Self.keptCapacity { scratch = context.channel.allocator.buffer(capacity: 512) }
        case .body(let body):
            guard chunked, body.readableBytes > 0 else {
                // An empty chunk would end the body: it only carries the promise along.
                context.write(wrapOutboundOut(.byteBuffer(body)), promise: promise)
                return
            }
            var size = context.channel.allocator.buffer(capacity: 18)
            size.writeString(String(body.readableBytes, radix: 16))
            size.writeCopy(of: "\r\n")
            context.write(wrapOutboundOut(.byteBuffer(size)), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(body)), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(Self.crlf)), promise: promise)
        case .end(let trailers):
            guard chunked else {
                // Nothing to write; an empty write keeps the promise in order with the others.
                if let promise { context.write(wrapOutboundOut(.byteBuffer(Self.nothing)), promise: promise) }
                return
            }
            guard let trailers, !trailers.isEmpty else {
                context.write(wrapOutboundOut(.byteBuffer(Self.lastChunk)), promise: promise)
                return
            }
            var end = context.channel.allocator.buffer(capacity: 256)
            end.writeCopy(of: "0\r\n")
            do {
                try end.writeHeaderFields(trailers)
            } catch {
                refuse(error, context: context, promise: promise)
                return
            }
            context.write(wrapOutboundOut(.byteBuffer(end)), promise: promise)
        }
    }

    /// Writes nothing of a part it will not send: fails its promise and tells the handlers
    /// behind it (the ``UpstreamHandler`` fails the exchange and closes the connection).
    private func refuse(_ error: UnsendableHead, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        scratch.clear()
        promise?.fail(error)
        context.fireErrorCaught(error)
    }
}
