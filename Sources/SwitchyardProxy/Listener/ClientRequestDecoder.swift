import NIOCore
import NIOHTTP1

/// Turns an HTTP/1.x client's bytes into request parts with a ``ClientRequestParser``, in
/// place of NIO's `HTTPRequestDecoder` in a `ByteToMessageHandler` (llhttp's callbacks, a
/// cumulation buffer, a String per name and value copied twice). Bytes that are not a request
/// reach the ``ProxyServerHandler`` as a ``MalformedHTTP1`` error; the parser drops whatever
/// follows them.
final class ClientRequestDecoder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RequestPart

    private var parser = ClientRequestParser()
    /// The connection's handler, given each part straight (no pipeline hop or boxing); without
    /// one, parts go down the pipeline.
    private var server: ProxyServerHandler?

    init(server: ProxyServerHandler? = nil) {
        self.server = server
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        server = nil
    }

    /// Set while parts are being handed on: a read that comes in the middle (NIO reads the
    /// socket before it closes a channel whose flush failed) only adds its bytes, and the loop
    /// already under way parses them in order, or drops them once the channel closed.
    private var decoding = false
    /// Set once the channel went inactive: nothing more is handed on.
    private var closed = false

    /// The end of a read batch goes straight to the server too.
    func channelReadComplete(context: ChannelHandlerContext) {
        if let server { server.readBatchComplete() } else { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reader = server  // the read ends for the handler it began for
        reader?.bytesRead()
        defer { reader?.readEnded() }
        parser.feed(unwrapInboundIn(data))
        guard !decoding else { return }
        decoding = true
        defer { decoding = false }
        decode(to: reader, context: context)
    }

    /// Hands the parts the bytes hold to `reader`, the server the read began for, while it is
    /// there (given as an argument, it is not retained again for each part), or down the
    /// pipeline without one.
    private func decode(to reader: ProxyServerHandler?, context: ChannelHandlerContext) {
        do {
            while !closed, let part = try parser.next() {
                if let reader, server != nil { reader.received(part) } else { context.fireChannelRead(wrapInboundOut(part)) }
            }
        } catch {
            context.fireErrorCaught(error)
        }
    }
}
