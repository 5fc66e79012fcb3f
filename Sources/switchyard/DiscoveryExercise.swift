import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardPluginHost

/// A discovery run as the host runs it: created (the config checked), started against a backend,
/// every event the host takes printed as it comes, then destroyed after `seconds`, timed (the
/// ABI asks destroy to return within a second or two).
struct DiscoveryExercise {
    let definition: DiscoveryDefinition
    let configJSON: String
    let authority: String
    let seconds: Double

    func run() throws -> Int {
        let before = definition.faults.count
        let backend: Authority
        do {
            backend = try Authority(parsing: authority, defaultPort: 80)
        } catch {
            printError("switchyard: --authority '\(authority)': \(error)")
            throw ExitCode.failure
        }
        print("\(definition.name) from \(definition.context.name) for \(backend)\n  config: \(configJSON)")
        let start = ContinuousClock.now
        let instance = try create { () throws(PluginError) in
            try definition.makeInstance(DiscoveryDefinition.Target(configJSON: configJSON, authority: backend)) { event in
                print("  \(Self.describe(ContinuousClock.now - start)) \(Self.describe(event))")
                return true
            }
        }
        instance.start()
        Thread.sleep(forTimeInterval: seconds)
        let destroy = ContinuousClock().measure { instance.stop() }
        let faults = definition.faults.count - before
        print("  destroy took \(Self.describe(destroy))\(destroy > .seconds(2) ? " (more than the 2 s the ABI allows)" : "")")
        print("  faults \(faults)")
        return faults + (destroy > .seconds(2) ? 1 : 0)
    }

    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.3fs", Double(seconds) + Double(attoseconds) / 1e18)
    }

    static func describe(_ event: DiscoveryEvent) -> String {
        var text = "\(event.kind)"
        if event.generation != 0 { text += " generation=\(event.generation)" }
        if !event.endpoints.isEmpty || event.kind == .reset {
            let endpoints = event.endpoints.map { endpoint in
                var item = endpoint.address.description
                if endpoint.weight != 1 { item += " weight=\(endpoint.weight)" }
                if !endpoint.labels.isEmpty { item += " {" + endpoint.labels.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}" }
                if let meta = endpoint.meta { item += " \(meta)" }
                return item
            }
            text += " [\(endpoints.joined(separator: ", "))]"
        }
        if let message = event.message { text += " \"\(message)\"" }
        return text
    }
}
