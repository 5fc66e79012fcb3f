import Logging
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardTestSupport
import Synchronization
import Testing

/// What ABI 1.1 added, over fixture plugins built with `cc`: the observe hook, previous_index
/// and backend_in_flight cross the boundary intact, and a 1.0 plugin is never asked for them.
@Suite("ABI 1.1")
struct ABIOneOneTests {
    /// Keeps the messages plugins log (the fixture logs what its hooks hear).
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    struct Capture: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { lines.append(event.message.description) }
    }

    func load(_ defines: [String] = [], header: String? = nil) throws -> (BalancerDefinition, Lines) {
        let lines = Lines()
        let registry = PluginRegistry(logger: Logger(label: "test") { _ in Capture(lines: lines) })
        let plugin = try registry.load(try FixturePlugin.build(defines, header: header))
        return (plugin.balancers[0], lines)
    }

    @Test("observe hears the outcome as the host reports it: endpoint, latency, HTTP and gRPC status, flags")
    func observe() throws {
        let (definition, lines) = try load()
        #expect(definition.observes)
        let balancer = try definition.makeInstance(seed: 1)
        balancer.update([BalancerEndpoint(address: "127.0.0.1:1"), BalancerEndpoint(address: "127.0.0.1:2")])
        balancer.observe(BalancerOutcome(endpoint: 1, latencyNanoseconds: 123_456, httpStatus: 200, grpcStatus: 14, flags: [.reset, .probe]))
        balancer.observe(BalancerOutcome(endpoint: 0, latencyNanoseconds: 7, httpStatus: 0, flags: .connectFailure))
        // An index outside the set is never passed on.
        balancer.observe(BalancerOutcome(endpoint: 2, latencyNanoseconds: 1, httpStatus: 200))
        #expect(lines.all.filter { $0.hasPrefix("observed") } == [
            "observed endpoint=1 latency_ns=123456 http=200 grpc=14 flags=20",
            "observed endpoint=0 latency_ns=7 http=0 grpc=-1 flags=1",
        ])
    }

    @Test("update tells each address where it was in the previous update, or that it is new")
    func previousIndex() throws {
        let (definition, lines) = try load()
        let balancer = try definition.makeInstance(seed: 1)
        let a = BalancerEndpoint(address: "10.0.0.1:80"), b = BalancerEndpoint(address: "10.0.0.2:80"), c = BalancerEndpoint(address: "10.0.0.3:80")
        balancer.update([a, b])
        balancer.update([c, b, a])
        balancer.update([a])
        #expect(lines.all.filter { $0.hasPrefix("update") } == ["update previous=", "update previous=-,-", "update previous=-,1,0", "update previous=2"])
    }

    @Test("backend_in_flight counts every loop's requests; with one loop it is the loop's own")
    func backendInFlight() throws {
        let (definition, _) = try load()
        let endpoints = [BalancerEndpoint(address: "10.0.0.1:80"), BalancerEndpoint(address: "10.0.0.2:80")]
        // Two loops' instances of one backend, sharing its counters.
        let shared = BackendInFlight(count: 2)
        let loop0 = try definition.makeInstance(configJSON: #"{"mode": "least-backend"}"#, seed: 1, loopIndex: 0)
        let loop1 = try definition.makeInstance(configJSON: #"{"mode": "least-backend"}"#, seed: 2, loopIndex: 1)
        loop0.update(endpoints, backendInFlight: shared)
        loop1.update(endpoints, backendInFlight: shared)
        shared.add(3, at: 0)  // loop 1 has three requests on endpoint 0
        loop1.setLoad(0, inFlight: 3, cost: 1)
        #expect(loop0.pick() == 1)  // loop 0 has none anywhere, yet sees loop 1's
        shared.add(5, at: 1)
        #expect(loop0.pick() == 0)
        shared.add(-3, at: 0)
        shared.add(-5, at: 1)
        #expect(shared[0] == 0 && shared[1] == 0)
        // One loop: no shared counters; the loop's own count is the backend's.
        let single = try definition.makeInstance(configJSON: #"{"mode": "least-backend"}"#, seed: 3)
        single.update(endpoints)
        single.setLoad(0, inFlight: 2, cost: 1)
        #expect(single.pick() == 1)
        // Counters for another endpoint count are not used (a table they do not describe).
        let mismatched = try definition.makeInstance(configJSON: #"{"mode": "least-backend"}"#, seed: 4)
        mismatched.update(endpoints, backendInFlight: BackendInFlight(count: 3))
        mismatched.setLoad(1, inFlight: 1, cost: 1)
        #expect(mismatched.pick() == 0)
        #expect(definition.faults.count == 0)
    }

    @Test("a 1.0 plugin has no observe hook the host could call (its def ends before it) and gets no 1.1 fields")
    func oneZeroPlugin() throws {
        let (definition, lines) = try load(["PLUGIN_NAME=\"old\"", "IMPL_PREFIX=\"old\""], header: "\(BuildProducts.repositoryRoot)/Tests/Fixtures/abi-1.0")
        #expect(!definition.observes)
        let balancer = try definition.makeInstance(seed: 1)
        balancer.update([BalancerEndpoint(address: "127.0.0.1:1")])
        balancer.observe(BalancerOutcome(endpoint: 0, latencyNanoseconds: 1, httpStatus: 500))
        #expect(balancer.pick() == 0)
        #expect(lines.all.isEmpty)
    }
}
