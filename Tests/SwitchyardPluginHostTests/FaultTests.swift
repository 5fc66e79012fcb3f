import Logging
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardTestSupport
import Testing

/// A plugin's bad answers are faults: counted, and answered safely, never a crash.
@Suite("Plugin faults")
struct FaultTests {
    let registry: PluginRegistry
    let plugin: LoadedPlugin

    init() throws {
        registry = PluginRegistry(logger: Logger(label: "test"))
        let name = "faulty-\(UInt32.random(in: 0 ... .max))"
        plugin = try registry.load(try FixturePlugin.build(["PLUGIN_NAME=\"\(name)\"", "IMPL_PREFIX=\"\(name)\""]))
    }

    func resolver(_ mode: String) throws -> ResolverInstance {
        try plugin.resolvers[0].makeInstance(configJSON: #"{"mode": "\#(mode)"}"#)
    }

    @Test("a well-formed answer is read field by field; labels and ports cross intact")
    func goodAnswers() throws {
        let service = try resolver("plain").resolve(service: Authority(host: "web.prod", port: 8080))
        #expect(service == .resource(group: "fixture.io", kind: "Thing", namespace: "ns", name: "web.prod", port: 8080))
        let endpoint = try resolver("section").resolve(
            endpoint: Authority(host: "127.0.0.1", port: 9000), labels: [("first", "label-value"), ("second", "x")])
        #expect(endpoint == .resource(group: "fixture.io", kind: "Thing", namespace: "ns", name: "label-value", section: "http", port: 9000))
        #expect(try resolver("decline").resolve(service: Authority(host: "a", port: 1)) == nil)
        #expect(plugin.faults == 0)
    }

    @Test("malformed or misused answers are faults, treated as not mine", arguments: ["overlong", "bad-utf8", "twice", "silent-ok", "error", "bad-status"])
    func badAnswers(mode: String) throws {
        let before = plugin.faults
        #expect(try resolver(mode).resolve(service: Authority(host: "web", port: 80)) == nil)
        #expect(plugin.faults == before + 1)
    }

    @Test("a chain moves past a faulty resolver to the next")
    func chainSkipsFaults() throws {
        try registry.load(BuildProducts.plugin("StandardResolvers"))
        let faulty = plugin.resolvers[0].name
        let chain = try ResolverChain(
            .services, names: [faulty, "unknown"], registry: registry, configs: [faulty: #"{"mode": "overlong"}"#])
        let before = plugin.faults
        #expect(chain.resolve(service: Authority(host: "web", port: 80)) == .init(meta: .default(name: "unknown"), resolver: "unknown"))
        #expect(plugin.faults == before + 1)
    }

    @Test(
        "a pick out of range, of an endpoint that is not ready, SY_PICK_NONE while endpoints are ready, or SY_PICK_ERROR is a fault answered with the first ready endpoint",
        arguments: ["out-of-range", "not-ready", "none", "pick-error"])
    func badPick(mode: String) throws {
        let balancer = try plugin.balancers[0].makeInstance(configJSON: #"{"mode": "\#(mode)"}"#, seed: 1)
        balancer.update([BalancerEndpoint(address: "127.0.0.1:1"), BalancerEndpoint(address: "127.0.0.1:2")])
        balancer.setReady(0, false)
        let before = plugin.faults
        let balancerBefore = plugin.balancers[0].faults.count
        #expect(balancer.pick() == 1)
        #expect(plugin.faults == before + 1)
        // Counted against the implementation that made it, as /plugins and the metric show.
        #expect(plugin.balancers[0].faults.count == balancerBefore + 1)
    }

    @Test("no ready endpoint means no pick, without asking the plugin")
    func noneReady() throws {
        let balancer = try plugin.balancers[0].makeInstance(seed: 1)
        #expect(balancer.pick() == nil)
        balancer.update([BalancerEndpoint(address: "127.0.0.1:1")])
        #expect(balancer.pick() == 0)
        balancer.setReady(0, false)
        #expect(balancer.readyCount == 0)
        #expect(balancer.pick() == nil)
    }

    @Test("the load model a balancer asks for crosses back to the host")
    func loadModel() throws {
        #expect(try plugin.balancers[0].validate(configJSON: "{}") == LoadModel(defaultRtt: .milliseconds(5), decay: .seconds(10)))
    }
}
