import Foundation
import Logging
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardTestSupport
import Synchronization
import Testing

/// What ABI 1.2 added, over a discovery plugin built with `cc` against the header alone: its
/// events cross the boundary intact, every malformed one is refused as a fault, destroy waits
/// for the plugin's thread, and plugins of earlier minors load with no discoveries.
@Suite("ABI 1.2")
struct ABIOneTwoTests {
    final class Events: Sendable {
        private let events = Mutex<[DiscoveryEvent]>([])
        var all: [DiscoveryEvent] { events.withLock { $0 } }
        func append(_ event: DiscoveryEvent) { events.withLock { $0.append(event) } }
    }

    func load(_ defines: [String] = []) throws -> LoadedPlugin {
        let registry = PluginRegistry(logger: Logger(label: "test"))
        return try registry.load(try FixturePlugin.build(defines, source: "discovery_plugin.c"))
    }

    let target = DiscoveryDefinition.Target(configJSON: "{}", authority: Authority(host: "web.test", port: 80))

    @Test("events cross intact; each malformed one is refused and counted as a fault; destroy joins the plugin's thread")
    func events() throws {
        let plugin = try load()
        #expect(plugin.abiMinor == 2)
        let definition = try #require(plugin.discoveries.first)
        #expect(definition.name == "scripted")
        let events = Events()
        let instance = try definition.makeInstance(target) {
            events.append($0)
            return true
        }
        instance.start()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !events.all.contains(where: { $0.kind == .current }) { Thread.sleep(forTimeInterval: 0.01) }
        instance.stop()

        let all = events.all
        #expect(all.map(\.kind) == [.reset, .add, .remove, .error, .current])
        guard all.count == 5 else { return }
        let reset = all[0]
        #expect(reset.generation == 7)
        #expect(reset.endpoints.map(\.address.description) == ["127.0.0.1:1001", "[::1]:1002"])
        #expect(reset.endpoints.map(\.weight) == [1, 5])
        #expect(reset.endpoints[0].labels == [.init(key: "team", value: "x")])
        #expect(reset.endpoints[1].labels == [.init(key: "team", value: "x"), .init(key: "zone", value: "a")])
        #expect(all[1].endpoints.first?.meta == .resource(group: "core", kind: "Pod", namespace: "test", name: "web-3"))
        #expect(all[1].endpoints.first?.weight == 2 && all[1].generation == 8)
        #expect(all[2].endpoints.map(\.address.description) == ["127.0.0.1:1001"])
        #expect(all[3].message == "source down")
        #expect(all[4].message == "accepted=4 refused=15")
        #expect(definition.faults.count == 15)
    }

    @Test("create validates only: a refusal carries the plugin's message")
    func refusal() throws {
        let definition = try #require(try load().discoveries.first)
        #expect(throws: PluginError.self) {
            try definition.validate(DiscoveryDefinition.Target(configJSON: #"{"refuse": true}"#, authority: target.authority))
        }
        do {
            try definition.validate(DiscoveryDefinition.Target(configJSON: #"{"refuse": true}"#, authority: target.authority))
        } catch {
            #expect(error.description.contains("refused as asked"), "\(error)")
        }
        try definition.validate(target)
    }

    @Test("a discovery without its start hook is refused at load, naming the hook")
    func missingStart() throws {
        #expect {
            try load(["NO_START"])
        } throws: { error in
            "\(error)".contains("start")
        }
    }

    @Test("a plugin built for 1.0 (its descriptor ends before discoveries) and a 1.2 one that exports none load with no discoveries")
    func olderMinors() throws {
        let registry = PluginRegistry(logger: Logger(label: "test"))
        let frozen = try registry.load(
            try FixturePlugin.build(["PLUGIN_NAME=\"abi10d\"", "IMPL_PREFIX=\"abi10d\""], header: "\(BuildProducts.repositoryRoot)/Tests/Fixtures/abi-1.0"))
        #expect(frozen.abiMinor == 0 && frozen.discoveries.isEmpty && !frozen.balancers.isEmpty)
        let current = try registry.load(try FixturePlugin.build(["PLUGIN_NAME=\"abi12\"", "IMPL_PREFIX=\"abi12\""]))
        #expect(current.discoveries.isEmpty)
    }
}
