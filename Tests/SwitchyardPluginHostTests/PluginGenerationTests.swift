import Foundation
import Logging
import SwitchyardPluginHost
import SwitchyardTestSupport
import Testing

/// A plugin file rebuilt on disk loads as a new generation beside the old, which keeps working;
/// a build that cannot load is refused once and not mapped again until the file changes.
@Suite("Plugin generations")
struct PluginGenerationTests {
    let logger = Logger(label: "test")

    /// Builds a variant and renames it over `path`, as a build tool replaces its output.
    func replace(_ path: String, with defines: [String]) throws {
        let build = try FixturePlugin.build([#"PLUGIN_NAME="gen""#, #"IMPL_PREFIX="gen""#] + defines)
        #expect(rename(build, path) == 0)
    }

    @Test("a changed file loads as the next generation; the old one serves on; a broken build is refused until the file changes again")
    func generations() throws {
        let path = try FixturePlugin.build([#"PLUGIN_NAME="gen""#, #"IMPL_PREFIX="gen""#])
        let first = try PluginLoader.load(path, logger: logger)
        #expect(first.generation == 1)
        #expect(try PluginLoader.load(path, logger: logger) === first)
        let old = try first.balancers[0].makeInstance(seed: 1)
        old.update([BalancerEndpoint(address: "10.0.0.1:80"), BalancerEndpoint(address: "10.0.0.2:80")])

        try replace(path, with: ["PICK_LAST"])
        let second = try PluginLoader.load(path, logger: logger)
        #expect(second.generation == 2 && second !== first && second.file == first.file)
        let new = try second.balancers[0].makeInstance(seed: 1)
        new.update([BalancerEndpoint(address: "10.0.0.1:80"), BalancerEndpoint(address: "10.0.0.2:80")])
        #expect(old.pick() == 0 && new.pick() == 1)  // both generations' code runs side by side
        #expect(try PluginLoader.load(path, logger: logger) === second)

        try replace(path, with: ["WRONG_MAJOR"])
        let refused = #expect(throws: PluginError.self) { try PluginLoader.load(path, logger: logger) }
        let again = #expect(throws: PluginError.self) { try PluginLoader.load(path, logger: logger) }
        #expect(refused?.description == again?.description && refused?.description.contains("ABI 2.x") == true, "\(String(describing: refused))")
        #expect(new.pick() == 1)

        try replace(path, with: [])
        let third = try PluginLoader.load(path, logger: logger)
        #expect(third.generation == 3)
    }
}
