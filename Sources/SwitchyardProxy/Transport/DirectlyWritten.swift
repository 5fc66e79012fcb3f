import NIOCore

/// An outbound handler that the handler right behind it calls straight (the HTTP/1.x
/// encoders): nothing sits between them, and a pipeline hop would box each part in `NIOAny`
/// and cast it back.
protocol DirectlyWritten: AnyObject {
    associatedtype Part
    /// Its context while it is in a pipeline.
    var context: ChannelHandlerContext? { get }
    /// Writes `part` as the pipeline's `write` does.
    func write(_ part: Part, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?)
}

extension DirectlyWritten {
    /// Writes a part given straight by the handler behind it, as if it came through the pipeline.
    func write(_ part: Part, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        write(part, context: context, promise: promise)
    }
}
