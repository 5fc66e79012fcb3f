import NIOCore

/// What ``ProxyServerHandler`` tells the connection's ``ClientTimeoutHandler`` about the
/// request it is answering (a direct call: both are on the connection's loop).
enum ClientRequestEvent {
    /// A request head was routed.
    case started
    /// The request's end was read.
    case ended
    /// The response ended; the connection stays open.
    case responseEnded
}

/// What ``ClientTimeoutHandler`` tells ``ProxyServerHandler`` (as an inbound user event).
enum ClientTimeoutEvent {
    /// The request body stalled for `timeouts.requestBodyIdle`: fail the request with 408 and close.
    case requestBodyIdle
}

/// The first handler of an HTTP/1.x client connection, before the decoder: it sees every
/// byte the client sends and bounds the waits of ``ClientTimeoutStateMachine`` (request head,
/// keep-alive idle, request-body gaps). HTTP/2 connections are bounded by their
/// ``HTTP2ServerConnection`` (idle) and each stream by its route's timeouts instead. It reads the clock once per
/// read batch (and once per response), however many events the batch holds.
final class ClientTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: ClientTimeoutStateMachine
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// The time of the read batch under way (nil outside one).
    private var batchTime: NIODeadline?

    /// The connection's loop, whose clock the bounds run on.
    private let eventLoop: EventLoop

    init(timeouts: ProxyConfig.Timeouts, eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        machine = ClientTimeoutStateMachine(
            requestHeader: TimeAmount(timeouts.requestHeader), keepAlive: TimeAmount(timeouts.keepAlive),
            requestBodyIdle: TimeAmount(timeouts.requestBodyIdle), now: eventLoop.now)
    }

    /// Now, read once per read batch.
    private func now() -> NIODeadline {
        if let batchTime { return batchTime }
        return eventLoop.now
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Added to a connection that is already active (behind the protocol detector).
        perform(machine.start(now: eventLoop.now), context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if batchTime == nil { batchTime = eventLoop.now }
        perform(machine.bytesRead(now: self.now()), context: context)
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        // The handlers behind let the next read through: the client is being read again.
        perform(machine.readsResumed(now: self.now()), context: context)
        context.read()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        // After the handlers behind have seen the batch (a head may have been routed).
        batchTime = nil
        perform(machine.readComplete(), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { perform(machine.drain(now: eventLoop.now), context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// What the request handler saw.
    func handle(_ event: ClientRequestEvent) {
        guard let context else { return }
        switch event {
        case .started: perform(machine.requestStarted(now: now()), context: context)
        case .ended: perform(machine.requestEnded(now: now()), context: context)
        case .responseEnded: perform(machine.responseEnded(now: now()), context: context)
        }
    }

    private func perform(_ action: ClientTimeoutStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .arm(let deadline):
            timer?.cancel()
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                // Strong: a weak reference would give the handler a side table, and every
                // retain of it (each pipeline hop) the slow path. Removal and close cancel it.
                self.timer = nil
                self.perform(self.machine.timerFired(now: self.eventLoop.now), context: context)
            }
        case .close:
            context.close(promise: nil)
        case .requestHeaderTimeout:
            let message = "request header timeout"
            let response =
                "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n"
                + "switchyard-proxy-error: \(message)\r\ncontent-length: \(message.utf8.count)\r\n\r\n\(message)"
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)), promise: nil)
            context.close(promise: nil)
        case .requestBodyTimeout:
            context.fireUserInboundEventTriggered(ClientTimeoutEvent.requestBodyIdle)
        }
    }
}
