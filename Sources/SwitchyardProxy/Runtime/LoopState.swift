import Logging
import NIOCore
import SwitchyardCore
import SwitchyardPluginHost

/// Everything one event loop needs to proxy, owned by that loop: its balancer instances,
/// queues, endpoint load and connection pools for every backend. Nothing here is shared
/// between loops, so the request path takes no locks.
final class LoopState {
    let eventLoop: EventLoop
    let table: RoutingTable
    let backends: [BackendRuntime]
    /// Routes requests to `backends`.
    let router: RequestRouter
    /// Where requests are logged (nil: no access log).
    let accessLog: AccessLogWriter?

    /// Builds `generation`'s state for one loop (on that loop): a balancer instance, queue and
    /// endpoint runtimes for every backend, and the router sending to them.
    init(eventLoop: EventLoop, loopIndex: Int, generation: TableGeneration, seed: UInt64, connector: UpstreamConnector) throws {
        let table = generation.table
        let metrics = generation.metrics
        let shared = generation.shared
        self.eventLoop = eventLoop
        self.table = table
        self.accessLog = generation.accessLog
        var random = Xoshiro256(seed: seed)
        var backends: [BackendRuntime] = []
        do {
            for (index, backend) in table.backends.enumerated() {
                let balancer = try backend.balancer.makeInstance(configJSON: backend.balancerConfig, seed: random.next(), loopIndex: loopIndex)
                backends.append(
                    try BackendRuntime(
                        config: backend, balancer: balancer, shared: shared[index], metrics: metrics.balancers[index],
                        upstreamIdle: TimeAmount(table.config.timeouts.upstreamIdle), connector: connector, eventLoop: eventLoop))
            }
        } catch {
            // The ones made are never served: retired, they let go of their endpoints.
            for backend in backends { backend.retire() }
            throw error
        }
        self.backends = backends
        self.router = RequestRouter(table: table, backends: backends, metrics: metrics, random: random)
    }

    /// A reload replaced this state (or it was never served, or the proxy stops): requests
    /// already here finish, idle upstream connections close, and the rest close as their last
    /// request ends.
    func retire() {
        for backend in backends { backend.retire() }
    }

    /// Retires `states`, each on its loop. The loops must still run: NIO drops a task sent to a
    /// loop that shut down, and its future never completes.
    static func retire(_ states: some Sequence<NIOLoopBound<LoopState>>) async {
        for state in states { try? await state.eventLoop.submit { state.value.retire() }.get() }
    }
}

/// One event loop's current ``LoopState``: connections read it at each request, so a reload
/// reaches connections that are already open. It also knows the loop's client connections, so
/// a drain can tell each to finish.
final class LoopSlot {
    var state: LoopState
    /// The route timeouts of every exchange on this loop, whatever table routed it.
    let watchdog: ExchangeWatchdog
    /// The buffer this loop's HTTP/1.x connections write response heads into.
    let headScratch = HeadScratch()
    /// HTTP/2 streams that closed in this pass of the loop, on any connection. An exchange may
    /// still be returning through one (it holds its client `unowned`), so each is kept until
    /// the pass is over: one task a pass for the loop, not one for each connection.
    let retiredStreams: EndOfPass<HTTP2ServerStream>
    private var connections: [ObjectIdentifier: Channel] = [:]
    /// Set by a drain: connections accepted or set up from now on hear it too.
    private(set) var draining = false

    init(_ state: LoopState) {
        self.state = state
        self.watchdog = ExchangeWatchdog(eventLoop: state.eventLoop)
        self.retiredStreams = EndOfPass(eventLoop: state.eventLoop) { _ in }
    }

    /// A client connection was accepted on this loop (its pipeline set up). One accepted as
    /// a drain began hears it at once.
    func track(_ channel: Channel) {
        connections[ObjectIdentifier(channel)] = channel
        if draining { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }

    /// A client connection closed.
    func untrack(_ channel: Channel) {
        connections[ObjectIdentifier(channel)] = nil
    }

    /// A drain: every client connection hears `ChannelShouldQuiesceEvent`.
    func quiesce() {
        draining = true
        for channel in connections.values {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }
}
