import NIOCore

/// Lets the flushes asked for during one pass of the event loop go out as one. The first
/// schedules the real flush for after the loop has handled this pass's I/O
/// (`EventLoop.execute`), and the rest join it. An HTTP/2 connection's streams each flush when
/// their own upstream answers, so without it every response is a `writev` of its own; with it,
/// the frames of every stream answered in a pass share one. The bytes wait no longer than the
/// rest of the pass, and a close sends them first.
///
/// The connection behind it keeps its frames in its own buffer until the real flush
/// (``FlushSource``): a pass's frames go out as one buffer, whose storage the next pass writes
/// into again, not one buffer (and one allocation) a flush asked for.
final class FlushCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = NIOAny

    /// The connection whose frames wait for the real flush (it registers itself as it is
    /// added). Strong: a weak reference would give the connection a side table, and every
    /// retain of it the slow path; the coalescer lets go as it leaves the pipeline.
    var source: (any FlushSource)?
    private var scheduled = false
    /// The handler's context while it is in the pipeline, kept so the scheduled flush captures
    /// only the handler (a closure of one object reference needs no allocation of its own).
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func flush(context: ChannelHandlerContext) {
        guard !scheduled else { return }
        scheduled = true
        context.eventLoop.assumeIsolated().execute { self.flushScheduled() }
    }

    /// Flushes now, with what a scheduled flush waited for: the handler behind knows nothing
    /// else of this pass will join it (its connection has no other stream to answer), and a
    /// flush now spares the scheduled task.
    func flushNow() {
        guard let context else { return }
        scheduled = false
        flushWithSource(context)
    }

    private func flushScheduled() {
        guard scheduled, let context else { return }  // a close flushed already, or removed
        scheduled = false
        flushWithSource(context)
    }

    /// A close sends what was flushed before it (the handlers behind believe it gone already).
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if scheduled, mode != .input {
            scheduled = false
            flushWithSource(context)
        }
        context.close(mode: mode, promise: promise)
    }

    /// The real flush: the source's frames are written first.
    private func flushWithSource(_ context: ChannelHandlerContext) {
        source?.writeBeforeFlush()
        context.flush()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        source = nil
    }
}

/// A handler behind a ``FlushCoalescer`` that keeps bytes of its own until the flush (an HTTP/2
/// connection's frame buffer): its flushes only ask, and the coalescer has it write what waits
/// just before each flush it passes on.
protocol FlushSource: AnyObject {
    /// Writes what waits for the flush into the pipeline (unflushed).
    func writeBeforeFlush()
}
