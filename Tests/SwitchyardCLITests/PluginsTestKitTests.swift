import Foundation
import SwitchyardTestSupport
import Testing

/// `switchyard plugins test` and `switchyard plugins cflags`: the plugin author's kit, run as an
/// author runs it, over real plugin files.
@Suite("switchyard plugins test and cflags")
struct PluginsTestKitTests {
    @Test("a sound balancer passes every situation: the spread of its picks, its speed, exit 0")
    func soundBalancer() throws {
        let result = try Subprocess.run(
            BuildProducts.switchyard, ["plugins", "test", BuildProducts.plugin("StandardBalancers"), "--balancer", "round-robin", "--picks", "3000"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        let out = result.standardOutput
        #expect(out.contains("round-robin from standard-balancers 1.0.0 (ABI 1.2)"), "\(out)")
        #expect(out.contains("  3 endpoints, all ready, equal load     33.3% 33.3% 33.3%  faults 0"), "\(out)")
        #expect(out.contains("  4 endpoints, only #2 ready             0.0% 0.0% 100.0% 0.0%  faults 0"), "\(out)")
        #expect(out.contains("ns per pick") && out.hasSuffix("ok: no faults\n"), "\(out)")
    }

    @Test("a balancer that picks outside the set is caught in every situation and the kit exits non-zero")
    func faultyBalancer() throws {
        let result = try Subprocess.run(
            BuildProducts.switchyard,
            ["plugins", "test", try FixturePlugin.build(), "--balancer", "fixture-balancer", "--config", #"{"mode": "out-of-range"}"#, "--picks", "100"])
        #expect(result.status != 0)
        #expect(result.standardOutput.contains("  3 endpoints, all ready, equal load     100.0% 0.0% 0.0%  faults 100"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("FAILED: "), "\(result.standardOutput)")
        #expect(result.standardError.contains("plugin fault in fixture-balancer: pick returned 8, outside 0..<3"), "\(result.standardError)")
    }

    @Test("a discovery runs against a backend: every event the host takes is printed, destroy is timed; a malformed event fails the kit")
    func discoveries() throws {
        let list = try FixturePlugin.writeFile(
            named: "endpoints.json", contents: #"{"endpoints": [{"address": "127.0.0.1:8080", "weight": 2, "labels": {"dst_pod": "web-0"}}]}"#)
        let sound = try Subprocess.run(
            BuildProducts.switchyard,
            [
                "plugins", "test", BuildProducts.plugin("StandardDiscovery"), "--discovery", "file", "--authority", "web.test:80", "--config",
                #"{"path": "\#(list)", "interval": "100ms"}"#, "--seconds", "0.5",
            ])
        #expect(sound.status == 0, "\(sound.standardOutput)\(sound.standardError)")
        #expect(sound.standardOutput.contains("reset [127.0.0.1:8080 weight=2 {dst_pod=web-0}]"), "\(sound.standardOutput)")
        #expect(sound.standardOutput.contains(" current\n") && sound.standardOutput.contains("destroy took "), "\(sound.standardOutput)")

        let scripted = try Subprocess.run(
            BuildProducts.switchyard,
            ["plugins", "test", try FixturePlugin.build(source: "discovery_plugin.c"), "--discovery", "scripted", "--authority", "web.test:80", "--seconds", "0.5"])
        #expect(scripted.status != 0)
        #expect(scripted.standardOutput.contains("faults 15") && scripted.standardOutput.contains("FAILED: 15 fault(s)"), "\(scripted.standardOutput)")
        #expect(scripted.standardError.contains("unknown event kind 99"), "\(scripted.standardError)")
    }

    @Test("the observing C example reports that it observes and how fast pick and observe are")
    func observingBalancer() throws {
        let result = try Subprocess.run(
            BuildProducts.switchyard, ["plugins", "test", BuildProducts.plugin("ExampleErrorRampBalancer"), "--balancer", "error-ramp", "--picks", "2000"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("(ABI 1.2), observes outcomes"))
        #expect(result.standardOutput.contains("ns per pick and observe"))
    }

    @Test("a refused config, a missing implementation, a bad flag: one clear line, exit non-zero")
    func refusals() throws {
        let balancers = BuildProducts.plugin("StandardBalancers")
        let refused = try Subprocess.run(BuildProducts.switchyard, ["plugins", "test", balancers, "--balancer", "least-request", "--config", #"{"choiceCount": 1}"#])
        #expect(refused.status != 0 && refused.standardError.contains("least-request"), "\(refused.standardError)")
        let missing = try Subprocess.run(BuildProducts.switchyard, ["plugins", "test", balancers, "--balancer", "nope"])
        #expect(missing.status != 0 && missing.standardError.contains("exports no balancer 'nope' (it has: "), "\(missing.standardError)")
        let badJSON = try Subprocess.run(BuildProducts.switchyard, ["plugins", "test", balancers, "--balancer", "random", "--config", "{"])
        #expect(badJSON.status != 0 && badJSON.standardError.contains("--config: invalid JSON"), "\(badJSON.standardError)")
    }

    @Test("a resolver answers the authority as a service and as an endpoint; a malformed answer is a fault")
    func resolvers() throws {
        let good = try Subprocess.run(
            BuildProducts.switchyard,
            ["plugins", "test", BuildProducts.plugin("StandardResolvers"), "--resolver", "k8s-pod-labels", "--authority", "10.1.2.3:8080",
             "--label", "dst_namespace=prod", "--label", "dst_pod=web-0"])
        #expect(good.status == 0, "\(good.standardOutput)\(good.standardError)")
        #expect(good.standardOutput.contains("endpoint 10.1.2.3:8080 [dst_namespace=prod,dst_pod=web-0]: Resource(core/Pod prod/web-0 port=8080)"), "\(good.standardOutput)")
        let bad = try Subprocess.run(
            BuildProducts.switchyard,
            ["plugins", "test", try FixturePlugin.build(), "--resolver", "fixture-resolver", "--authority", "web.test:80", "--config", #"{"mode": "overlong"}"#])
        #expect(bad.status != 0)
        #expect(bad.standardOutput.contains("FAILED: "), "\(bad.standardOutput)")
    }

    @Test("cflags finds the header: cc $(switchyard plugins cflags) builds the C examples from anywhere")
    func cflags() throws {
        let flags = try Subprocess.run(BuildProducts.switchyard, ["plugins", "cflags"])
        #expect(flags.status == 0)
        let flag = flags.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(flag.hasPrefix("-I/") && flag.hasSuffix("/include"), "\(flag)")
        let output = try FixturePlugin.writeFile(named: "liberror_ramp.so", contents: "")
        let build = try Subprocess.run(
            "/bin/sh",
            ["-c", "cd / && cc -shared -fPIC -O2 $('\(BuildProducts.switchyard)' plugins cflags) -o '\(output)' '\(BuildProducts.repositoryRoot)/examples/c-error-ramp/error_ramp.c'"])
        #expect(build.status == 0, "\(build.standardError)")
        let inspect = try Subprocess.run(BuildProducts.switchyard, ["plugins", "inspect", output])
        #expect(inspect.standardOutput.contains("error-ramp  [observes outcomes]"), "\(inspect.standardOutput)")
    }

    @Test("scripts/install puts the header beside the binary's prefix, and the installed cflags point at it")
    func installedHeader() throws {
        let prefix = URL(fileURLWithPath: try FixturePlugin.writeFile(named: "marker", contents: "")).deletingLastPathComponent().path + "/prefix"
        defer { try? FileManager.default.removeItem(atPath: prefix) }  // a copy of the binary: tens of megabytes
        let install = try Subprocess.run("\(BuildProducts.repositoryRoot)/scripts/install", [prefix, BuildProducts.directory])
        #expect(install.status == 0, "\(install.standardError)")
        let flags = try Subprocess.run("\(prefix)/bin/switchyard", ["plugins", "cflags"])
        #expect(flags.standardOutput == "-I\(prefix)/include/switchyard\n", "\(flags.standardOutput)\(flags.standardError)")
        let pc = try String(contentsOfFile: "\(prefix)/lib/pkgconfig/switchyard-plugin.pc", encoding: .utf8)
        #expect(pc.contains("Cflags: -I${includedir}") && pc.contains("Version: 1.2"), "\(pc)")
        let loaded = try Subprocess.run("\(prefix)/bin/switchyard", ["plugins", "inspect", "\(prefix)/lib/switchyard/libStandardBalancers.so"])
        #expect(loaded.status == 0 && loaded.standardOutput.contains("p2c-peak-ewma"))
    }
}
