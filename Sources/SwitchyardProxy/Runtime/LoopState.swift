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
    var random: Xoshiro256

    init(eventLoop: EventLoop, loopIndex: Int, table: RoutingTable, gates: [BackendGate], seed: UInt64) throws {
        self.eventLoop = eventLoop
        self.table = table
        var random = Xoshiro256(seed: seed)
        var backends: [BackendRuntime] = []
        for (index, backend) in table.backends.enumerated() {
            let balancer = try backend.balancer.makeInstance(configJSON: backend.balancerConfig, seed: random.next(), loopIndex: loopIndex)
            backends.append(try BackendRuntime(config: backend, balancer: balancer, gate: gates[index], eventLoop: eventLoop))
        }
        self.backends = backends
        self.random = random
    }
}
