import Foundation
import Logging
import SwitchyardPluginHost
import SwitchyardTestSupport
import Testing

/// Each loader error, produced by a deliberately broken plugin built here with `cc -shared`.
@Suite("Loader errors")
struct LoaderErrorTests {
    let logger = Logger(label: "test")

    func loadError(_ path: String) -> PluginError? {
        do {
            _ = try PluginRegistry(logger: logger).load(path)
            return nil
        } catch {
            return error
        }
    }

    @Test("a relative name that leads out of the plugin folder is refused before the file is opened")
    func outsidePluginFolder() throws {
        let marker = Scratch.path("marker")
        let library = try FixturePlugin.build(["CONSTRUCTOR_MARKER=\"\(marker)\""])
        let folder = URL(fileURLWithPath: library).deletingLastPathComponent()
        let pluginFolder = folder.appendingPathComponent("plugins").path
        try FileManager.default.createDirectory(atPath: pluginFolder, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(pluginFolder)/libescape.so", withDestinationPath: library)
        for name in ["../libfixture.so", "sub/../../libfixture.so", "libescape.so"] {
            #expect(throws: PluginError(file: name, .outsidePluginDirectory(pluginFolder))) {
                _ = try PluginFile.path(of: name, in: pluginFolder)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
        // Written as an absolute path, the same file loads (and its constructor runs).
        #expect(try PluginFile.path(of: library, in: pluginFolder) == library)
        _ = try PluginRegistry(logger: logger).load(library)
        #expect(FileManager.default.fileExists(atPath: marker))
    }

    @Test("a plugin file, or its folder, writable by everyone or owned by another user is refused")
    func worldWritable() throws {
        let library = try FixturePlugin.build()
        #expect(chmod(library, 0o666) == 0)
        let error = try #require(loadError(library))
        #expect(error.problem == .insecurePermissions(error.file))
        #expect(error.description.hasSuffix("is writable by everyone, so anyone could replace the plugin (chmod o-w \(error.file))"))
        #expect(chmod(library, 0o755) == 0)
        let folder = URL(fileURLWithPath: error.file).deletingLastPathComponent().path
        #expect(chmod(folder, 0o777) == 0)
        #expect(loadError(library)?.problem == .insecurePermissions(folder))
        #expect(chmod(folder, 0o1777) == 0)  // sticky, as /tmp: nobody else can replace the file
        #expect(loadError(library) == nil)
        // Owned by another user (only root can hand a file over; elsewhere this part is moot).
        if geteuid() == 0 {
            #expect(chown(library, 12345, 12345) == 0)
            #expect(loadError(library)?.problem == .untrustedOwner(error.file, owner: 12345))
        }
    }

    @Test("a missing file")
    func notFound() {
        let error = loadError("/nonexistent/libnothing.so")
        #expect(error?.problem == .notFound)
        #expect(error?.description == "/nonexistent/libnothing.so: plugin file not found")
    }

    @Test("a file that is not a shared object")
    func notSharedObject() throws {
        let path = try FixturePlugin.writeFile(named: "libtext.so", contents: "just text\n")
        let error = try #require(loadError(path))
        guard case .notLoadable = error.problem else {
            Issue.record("expected notLoadable, got \(error)")
            return
        }
        #expect(error.description.hasPrefix("\(error.file): not a loadable shared object ("))
    }

    @Test("a shared object without the entry symbol is not a Switchyard plugin")
    func noEntry() throws {
        let error = try #require(loadError(try FixturePlugin.build(["NO_ENTRY"])))
        #expect(error.problem == .noEntrySymbol)
        #expect(error.description == "\(error.file): not a Switchyard plugin (it does not export switchyard_plugin_entry_v1)")
    }

    @Test("an entry that returns no descriptor")
    func nullDescriptor() throws {
        let error = try #require(loadError(try FixturePlugin.build(["NULL_DESCRIPTOR"])))
        #expect(error.problem == .noDescriptor)
    }

    @Test("another major version names both versions and says rebuild")
    func wrongMajor() throws {
        let error = try #require(loadError(try FixturePlugin.build(["WRONG_MAJOR"])))
        #expect(error.problem == .wrongMajor(plugin: 2, host: 1))
        #expect(error.description.contains("ABI 2.x"))
        #expect(error.description.contains("ABI 1.x"))
        #expect(error.description.contains("rebuild the plugin"))
    }

    @Test("a descriptor struct_size too small for the fields")
    func structTooSmall() throws {
        let error = try #require(loadError(try FixturePlugin.build(["SMALL_DESCRIPTOR"])))
        guard case .structTooSmall(let name, let size, let required) = error.problem else {
            Issue.record("expected structTooSmall, got \(error)")
            return
        }
        #expect(name == "sy_plugin_descriptor")
        #expect(size == 8)
        #expect(required > 8)
    }

    @Test("a declared balancer without its pick hook")
    func missingHook() throws {
        let error = try #require(loadError(try FixturePlugin.build(["MISSING_PICK"])))
        #expect(error.problem == .missingHook(kind: .balancer, name: "fixture-balancer", hook: "pick"))
        #expect(error.description == "\(error.file): balancer 'fixture-balancer' does not provide its required 'pick' hook")
    }

    @Test("a malformed implementation name")
    func badName() throws {
        let error = try #require(loadError(try FixturePlugin.build(["BAD_NAME"])))
        guard case .malformed(let what) = error.problem else {
            Issue.record("expected malformed, got \(error)")
            return
        }
        #expect(what.contains("'Fixture Balancer'"))
    }

    @Test("two implementations with the same name in one plugin")
    func duplicateInOnePlugin() throws {
        let error = try #require(loadError(try FixturePlugin.build(["DUPLICATE_BALANCER"])))
        #expect(error.problem == .duplicateImplementation(kind: .balancer, name: "fixture-balancer", plugin: "fixture", loadedFrom: error.file))
    }

    @Test("two plugins with the same name")
    func duplicatePluginName() throws {
        let first = try FixturePlugin.build([#"PLUGIN_NAME="twin""#, #"IMPL_PREFIX="twin-a""#])
        let second = try FixturePlugin.build([#"PLUGIN_NAME="twin""#, #"IMPL_PREFIX="twin-b""#])
        let registry = PluginRegistry(logger: logger)
        let loaded = try registry.load(first)
        #expect(throws: PluginError(file: second, .duplicatePlugin(name: "twin", loadedFrom: loaded.file))) {
            try registry.load(second)
        }
        #expect(registry.plugins.count == 1)
    }

    @Test("two plugins exporting an implementation with the same name")
    func duplicateImplementationAcrossPlugins() throws {
        let first = try FixturePlugin.build([#"PLUGIN_NAME="left""#, #"IMPL_PREFIX="shared""#])
        let second = try FixturePlugin.build([#"PLUGIN_NAME="right""#, #"IMPL_PREFIX="shared""#])
        let registry = PluginRegistry(logger: logger)
        let loaded = try registry.load(first)
        #expect(throws: PluginError(file: second, .duplicateImplementation(kind: .resolver, name: "shared-resolver", plugin: "left", loadedFrom: loaded.file))) {
            try registry.load(second)
        }
        // The refused plugin registered nothing.
        #expect(registry.plugins.map(\.name) == ["left"])
    }

    @Test("loading the same file twice is a no-op")
    func sameFileTwice() throws {
        let path = try FixturePlugin.build([#"PLUGIN_NAME="once""#, #"IMPL_PREFIX="once""#])
        let registry = PluginRegistry(logger: logger)
        let first = try registry.load(path)
        let second = try registry.load(path)
        #expect(first === second)
        #expect(registry.plugins.count == 1)
        // Another registry gets the same process-wide plugin: the entry function ran once.
        #expect(try PluginRegistry(logger: logger).load(path) === first)
    }

    @Test("a config refused by the plugin carries the plugin's message")
    func configRefused() throws {
        let registry = PluginRegistry(logger: logger)
        try registry.load(try FixturePlugin.build([#"PLUGIN_NAME="picky""#, #"IMPL_PREFIX="picky""#]))
        let balancer = try #require(registry.balancer(named: "picky-balancer"))
        #expect(throws: PluginError(file: balancer.context.file, .configRefused(kind: .balancer, name: "picky-balancer", plugin: "picky", message: "mode: refused on purpose"))) {
            try balancer.validate(configJSON: #"{"mode": "refuse"}"#)
        }
        let resolver = try #require(registry.resolver(named: "picky-resolver"))
        let error = #expect(throws: PluginError.self) { try resolver.makeInstance(configJSON: #"{"mode": "refuse"}"#) }
        #expect(error?.description == "mode: refused on purpose (refused by resolver 'picky-resolver' of plugin 'picky', \(resolver.context.file))")
    }
}
