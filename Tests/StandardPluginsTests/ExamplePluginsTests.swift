import Logging
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardTestSupport
import Testing

/// The two examples a plugin author starts from, loaded as the proxy would load them.
@Suite("Example plugins")
struct ExamplePluginsTests {
    func checkLeastCost(_ path: String) throws {
        let registry = PluginRegistry(logger: Logger(label: "test"))
        try registry.load(path)
        let definition = try #require(registry.balancer(named: "least-cost"))
        let balancer = try definition.makeInstance(seed: 3)
        balancer.update((1...4).map { BalancerEndpoint(address: "10.0.0.\($0):80") })
        for (index, cost) in [40.0, 10, 30, 10].enumerated() { balancer.setLoad(index, inFlight: 0, cost: cost) }
        let picks = (0..<8).compactMap { _ in balancer.pick() }
        #expect(Set(picks) == [1, 3])  // the two cheapest share the load
        #expect(picks.filter { $0 == 1 }.count == 4)
        balancer.setReady(1, false)
        balancer.setReady(3, false)
        #expect(balancer.pick() == 2)
        let error = #expect(throws: PluginError.self) { try definition.validate(configJSON: #"{"x": 1}"#) }
        guard case .configRefused(_, _, _, let message) = error?.problem else { return }
        #expect(message == "least-cost takes no config; remove the config block")
        #expect(registry.plugins[0].faults == 0)
    }

    @Test("the C balancer, built by SwiftPM, picks the lowest cost and refuses config")
    func cBalancerFromSwiftPM() throws {
        try checkLeastCost(BuildProducts.plugin("ExampleCBalancer"))
    }

    @Test("the C balancer also builds with the one-line cc command of its README")
    func cBalancerFromCC() throws {
        try checkLeastCost(try FixturePlugin.build([], source: "examples/c-balancer/least_cost.c"))
    }

    @Test("the Swift resolver reads the team label, declines without it, and checks its config")
    func swiftResolver() throws {
        let registry = PluginRegistry(logger: Logger(label: "test"))
        try registry.load(BuildProducts.plugin("ExampleTeamResolver"))
        try registry.load(BuildProducts.plugin("StandardResolvers"))
        let chain = try ResolverChain(.endpoints, names: ["team-label", "k8s-pod-labels", "unknown"], registry: registry)
        let address = try Authority(parsing: "127.0.0.1:18081")
        #expect(
            chain.resolve(endpoint: address, labels: [("team", "payments"), ("dst_namespace", "prod")])
                == .init(meta: .resource(group: "example.switchyard.dev", kind: "Team", namespace: "prod", name: "payments", port: 18081), resolver: "team-label"))
        #expect(chain.resolve(endpoint: address, labels: [("dst_namespace", "prod")])?.resolver == "k8s-pod-labels")
        let custom = try #require(registry.resolver(named: "team-label")).makeInstance(configJSON: #"{"group": "teams.acme.io"}"#)
        #expect(custom.resolve(endpoint: address, labels: [("team", "a")])?.group == "teams.acme.io")
        #expect(throws: PluginError.self) { try registry.resolver(named: "team-label")!.makeInstance(configJSON: #"{"group": ""}"#) }
    }

    @Test("error-ramp (C, ABI 1.1) hears outcomes: ejects an endpoint that keeps failing, keeps its state across an update that keeps its address")
    func errorRamp() throws {
        let registry = PluginRegistry(logger: Logger(label: "test"))
        try registry.load(BuildProducts.plugin("ExampleErrorRampBalancer"))
        let definition = try #require(registry.balancer(named: "error-ramp"))
        #expect(definition.observes)
        let balancer = try definition.makeInstance(configJSON: #"{"minRequests": 5, "ejectMs": 60000, "rampMs": 1000}"#, seed: 7)
        let endpoints = (1...2).map { BalancerEndpoint(address: "10.0.0.\($0):80") }
        balancer.update(endpoints)
        balancer.setLoad(0, inFlight: 0, cost: 1_000)  // fast, as an endpoint answering 500s at once is
        balancer.setLoad(1, inFlight: 0, cost: 5_000_000)
        #expect(balancer.pick() == 0)
        for _ in 0..<5 { balancer.observe(BalancerOutcome(endpoint: 0, latencyNanoseconds: 1_000, httpStatus: 500)) }
        #expect((0..<20).allSatisfy { _ in balancer.pick() == 1 })  // ejected
        // An update that keeps both addresses (in another order) keeps the ejection with its address.
        balancer.update(endpoints.reversed())
        balancer.setLoad(1, inFlight: 0, cost: 1_000)
        balancer.setLoad(0, inFlight: 0, cost: 5_000_000)
        #expect((0..<20).allSatisfy { _ in balancer.pick() == 0 })
        // A client's cancel is not the endpoint's failure, and one endpoint is never all ejected.
        let single = try definition.makeInstance(configJSON: #"{"minRequests": 1}"#, seed: 1)
        single.update([endpoints[0]])
        for _ in 0..<5 { single.observe(BalancerOutcome(endpoint: 0, latencyNanoseconds: 1, httpStatus: 502)) }
        #expect(single.pick() == 0)
        for (config, message) in [
            (#"{"ejectMs": "10s"}"#, "ejectMs must be a number (durations in milliseconds, e.g. ejectMs: 10000)"),
            (#"{"surge": 1}"#, "unknown key 'surge' (known: errorThreshold, minRequests, ejectMs, rampMs, defaultRttMs, decayMs)"),
            (#"{"errorThreshold": 2}"#, "errorThreshold must be in (0, 1]"),
        ] {
            let error = #expect(throws: PluginError.self) { try definition.validate(configJSON: config) }
            guard case .configRefused(_, _, _, let refusal) = error?.problem else { continue }
            #expect(refusal == message)
        }
        #expect(try definition.validate(configJSON: #"{"defaultRttMs": 2, "decayMs": 500}"#) == LoadModel(defaultRtt: .milliseconds(2), decay: .milliseconds(500)))
        #expect(registry.plugins[0].faults == 0)
    }
}
