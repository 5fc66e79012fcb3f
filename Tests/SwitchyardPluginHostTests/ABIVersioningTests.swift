import Foundation
import Logging
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardTestSupport
import Testing

import CSwitchyardPlugin

/// The header's versioning promise (switchyard_plugin.h §1), kept: a plugin built against ABI
/// 1.0 loads in this host, a plugin built against a later minor (longer structs) loads and is
/// read only as far as 1.0 goes, and nobody moves a 1.0 field. `Tests/Fixtures/abi-1.0` holds a
/// frozen copy of the 1.0 header; `Tests/Fixtures/abi_layout.py` prints the layout of a header's
/// structs as a C program.
@Suite("ABI versioning")
struct ABIVersioningTests {
    static let root = BuildProducts.repositoryRoot
    static let frozen = "\(root)/Tests/Fixtures/abi-1.0"
    static let live = "\(root)/Sources/CSwitchyardPlugin/include"

    /// Builds the layout program of `fields` (a header) against `header`'s folder and runs it.
    static func layout(fieldsOf fields: String, against header: String, constants: Bool = false) throws -> [String] {
        let folder = URL(fileURLWithPath: try FixturePlugin.writeFile(named: "layout.c", contents: "")).deletingLastPathComponent().path
        let script = """
            python3 '\(root)/Tests/Fixtures/abi_layout.py' '\(fields)/switchyard_plugin.h' \(constants ? "--constants" : "") > '\(folder)/layout.c' \
            && cc -Wall -Werror -I '\(header)' -o '\(folder)/layout' '\(folder)/layout.c' && '\(folder)/layout'
            """
        let result = try Subprocess.run("/bin/sh", ["-c", script])
        try #require(result.status == 0, "\(result.standardError)")
        return result.standardOutput.split(separator: "\n").map(String.init)
    }

    @Test("the frozen 1.0 header's layout is the one released: its fingerprint is pinned")
    func frozenFingerprint() throws {
        let lines = try Self.layout(fieldsOf: Self.frozen, against: Self.frozen)
        let file = try FixturePlugin.writeFile(named: "layout.txt", contents: lines.joined(separator: "\n") + "\n")
        let hash = try Subprocess.run("/bin/sh", ["-c", "sha256sum '\(file)'"]).standardOutput.prefix(64)
        // A released layout never changes: if this fails, a 1.0 struct was edited in the frozen
        // copy. Put it back; a new field belongs at the end of the live header's struct, in a new minor.
        #expect(hash == "c9d4e8264b517a1ff64076b9e8d75c922bfedd63de7e617e8d199e6bd6d75d63", "\(lines.joined(separator: "\n"))")
        #expect(lines.count == 94)
    }

    @Test("the live header keeps every 1.0 field where 1.0 put it; its SY_<STRUCT>_SIZE_1_0 are 1.0's sizes")
    func liveKeepsLayout() throws {
        let frozen = try Self.layout(fieldsOf: Self.frozen, against: Self.frozen)
        let live = try Self.layout(fieldsOf: Self.frozen, against: Self.live)
        #expect(live.filter { $0.hasPrefix("field ") } == frozen.filter { $0.hasPrefix("field ") })
        let frozenSizes = Dictionary(uniqueKeysWithValues: frozen.filter { $0.hasPrefix("size ") }.map { line in
            let parts = line.split(separator: " ")
            return (String(parts[1]), Int(parts[2]) ?? -1)
        })
        let minimums = try Self.layout(fieldsOf: Self.live, against: Self.live, constants: true).filter { $0.hasPrefix("minimum ") }
        #expect(minimums.count == frozenSizes.count - 1)  // every struct but sy_str
        for line in minimums {
            let parts = line.split(separator: " ")
            #expect(frozenSizes[String(parts[1])] == Int(parts[2]), "\(line): 1.0's size is \(frozenSizes[String(parts[1])] ?? -1)")
        }
    }

    /// Loads `library` and exercises its resolver and balancer.
    func exercise(_ library: String) throws -> LoadedPlugin {
        let plugin = try PluginRegistry(logger: Logger(label: "test")).load(library)
        let answer = try plugin.resolvers[0].makeInstance(configJSON: #"{"mode": "plain"}"#).resolve(service: Authority(host: "web.prod", port: 8080))
        #expect(answer == .resource(group: "fixture.io", kind: "Thing", namespace: "ns", name: "web.prod", port: 8080))
        let balancer = try plugin.balancers[0].makeInstance(configJSON: "{}", seed: 1)
        balancer.update([BalancerEndpoint(address: "127.0.0.1:1"), BalancerEndpoint(address: "127.0.0.1:2")])
        #expect(balancer.pick(hash: nil) != nil)
        #expect(plugin.faults == 0)
        return plugin
    }

    @Test("a plugin built against the frozen 1.0 header loads and works in this host")
    func oldMinorLoads() throws {
        let plugin = try exercise(try FixturePlugin.build(["PLUGIN_NAME=\"abi10\"", "IMPL_PREFIX=\"abi10\""], header: Self.frozen))
        #expect(plugin.abiMajor == 1 && plugin.abiMinor == 0)
    }

    @Test("a plugin built against a later minor, its structs longer than this host knows, loads; the host reads only its own fields")
    func newerMinorLoads() throws {
        let plugin = try exercise(try FixturePlugin.build(["FUTURE_MINOR", "PLUGIN_NAME=\"future\"", "IMPL_PREFIX=\"future\""]))
        #expect(plugin.abiMinor == Int(SY_ABI_MINOR) + 5)
    }
}
