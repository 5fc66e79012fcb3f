import SwitchyardTestSupport
import Testing

/// `switchyard plugins inspect`, run as a user runs it.
@Suite("switchyard plugins inspect")
struct PluginsInspectTests {
    @Test("prints ABI version, name, version, resolvers and balancers of each file")
    func inspect() throws {
        let result = try Subprocess.run(
            BuildProducts.switchyard,
            ["plugins", "inspect", BuildProducts.plugin("StandardResolvers"), BuildProducts.plugin("StandardBalancers")])
        #expect(result.status == 0, "\(result.standardError)")
        let out = result.standardOutput
        #expect(out.contains("plugin:    standard-resolvers 1.0.0"))
        #expect(out.contains("plugin:    standard-balancers 1.0.0"))
        #expect(out.contains("abi:       1.2"))
        for name in ["k8s-service-name", "k8s-pod-labels", "unknown", "p2c-peak-ewma", "round-robin", "least-request", "random", "weighted-round-robin", "ring-hash", "maglev"] {
            #expect(out.contains("    \(name) "), "\(name) missing from:\n\(out)")
        }
        #expect(out.contains("[services, endpoints]"))
    }

    @Test("a bad file gives the loader's error and a non-zero exit, after inspecting the good ones")
    func badFile() throws {
        let broken = try FixturePlugin.build(["WRONG_MAJOR"])
        let result = try Subprocess.run(BuildProducts.switchyard, ["plugins", "inspect", BuildProducts.plugin("ExampleCBalancer"), broken])
        #expect(result.status != 0)
        #expect(result.standardOutput.contains("least-cost"))
        #expect(result.standardError.contains("switchyard: \(broken): plugin built for Switchyard plugin ABI 2.x"))
    }
}
