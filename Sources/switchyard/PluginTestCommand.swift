import ArgumentParser
import Logging
import SwitchyardCore
import SwitchyardPluginHost

/// `switchyard plugins test FILE --balancer NAME | --resolver NAME --authority A | --discovery
/// NAME --authority A`: a plugin author's test kit. It drives one balancer, resolver or discovery
/// through the host's own wrappers (the same checks the proxy makes), prints what it chose or
/// published and how fast, and exits non-zero on any fault.
struct PluginTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Exercise a balancer, resolver or discovery of a plugin file; exit non-zero on any fault.",
        discussion: """
            A balancer runs through create, update, pick and observe over generated load tables: all
            ready, some not ready, one left, zero endpoints, weights, costs, request hashes, a failing
            endpoint, and updates that keep some addresses. A resolver answers --authority as a service
            and as an endpoint (with --label). Each fault (a pick that is not a ready index, a malformed
            answer, a malformed discovery event) is counted as the proxy counts it. A discovery runs for
            --seconds against the backend --authority, printing every event the host takes; then the
            kit destroys it and says how long that took.
            """
    )

    @Argument(help: "The plugin file (.so).")
    var path: String

    @Option(help: "The balancer to exercise.")
    var balancer: String?

    @Option(help: "The resolver to exercise.")
    var resolver: String?

    @Option(help: "The discovery to run.")
    var discovery: String?

    @Option(help: "The authority (host:port) a resolver is asked about, or a discovery's backend.")
    var authority: String?

    @Option(help: "How long a discovery runs before it is destroyed.")
    var seconds = 3.0

    @Option(name: .customLong("label"), help: "An endpoint label key=value for a resolver's endpoint query (repeatable).")
    var labels: [String] = []

    @Option(help: "The implementation's config block, as JSON (what the proxy hands it for the YAML block).")
    var config = "{}"

    @Option(help: "Picks per situation.")
    var picks = 10_000

    func validate() throws {
        guard [balancer, resolver, discovery].compactMap({ $0 }).count == 1 else {
            throw ValidationError("name one --balancer, one --resolver or one --discovery")
        }
        guard resolver == nil || authority != nil else { throw ValidationError("--resolver needs --authority") }
        guard discovery == nil || authority != nil else { throw ValidationError("--discovery needs --authority (the backend it feeds)") }
        guard (0.1...600).contains(seconds) else { throw ValidationError("--seconds must be in 0.1...600") }
        guard (1...10_000_000).contains(picks) else { throw ValidationError("--picks must be in 1...10000000") }
        do {
            _ = try JSONValue(parsing: config)
        } catch {
            throw ValidationError("--config: \(error)")
        }
    }

    func run() throws {
        let plugin: LoadedPlugin
        do {
            plugin = try PluginLoader.load(path, logger: Logger(label: "switchyard.plugins"))
        } catch {
            printError("switchyard: \(error)")
            throw ExitCode.failure
        }
        let faults: Int
        if let balancer {
            guard let definition = plugin.balancers.first(where: { $0.name == balancer }) else {
                printError("switchyard: \(plugin.file) exports no balancer '\(balancer)' (it has: \(plugin.balancers.map(\.name).joined(separator: ", ")))")
                throw ExitCode.failure
            }
            faults = try BalancerExercise(definition: definition, plugin: plugin, configJSON: config, picks: picks).run()
        } else if let resolver, let authority {
            guard let definition = plugin.resolvers.first(where: { $0.name == resolver }) else {
                printError("switchyard: \(plugin.file) exports no resolver '\(resolver)' (it has: \(plugin.resolvers.map(\.name).joined(separator: ", ")))")
                throw ExitCode.failure
            }
            faults = try ResolverExercise(definition: definition, configJSON: config, authority: authority, labels: labels).run()
        } else if let discovery, let authority {
            guard let definition = plugin.discoveries.first(where: { $0.name == discovery }) else {
                printError(
                    "switchyard: \(plugin.file) exports no discovery '\(discovery)' (it has: \(plugin.discoveries.map(\.name).joined(separator: ", ")))")
                throw ExitCode.failure
            }
            faults = try DiscoveryExercise(definition: definition, configJSON: config, authority: authority, seconds: seconds).run()
        } else {
            return
        }
        guard faults == 0 else {
            print("FAILED: \(faults) fault(s)")
            throw ExitCode.failure
        }
        print("ok: no faults")
    }
}

/// Refusing the config is the answer the kit reports, not a crash.
func create<T>(_ make: () throws(PluginError) -> T) throws -> T {
    do {
        return try make()
    } catch {
        printError("switchyard: \(error)")
        throw ExitCode.failure
    }
}

/// A balancer driven as the host drives it, situation by situation.
struct BalancerExercise {
    let definition: BalancerDefinition
    let plugin: LoadedPlugin
    let configJSON: String
    let picks: Int

    /// One generated situation: the endpoints, how loaded and ready they are, and what the
    /// requests carry.
    struct Situation {
        var name: String
        var weights: [Int]
        var notReady: Set<Int> = []
        var costs: [Double]? = nil
        var inFlight: [Int]? = nil
        var hashed = false
        /// Endpoints whose requests fail (observed as 500s).
        var failing: Set<Int> = []
    }

    static let situations: [Situation] = [
        Situation(name: "3 endpoints, all ready, equal load", weights: [1, 1, 1]),
        Situation(name: "10 endpoints, weights 1...10", weights: Array(1...10)),
        Situation(name: "5 endpoints, #1 and #3 not ready", weights: [1, 1, 1, 1, 1], notReady: [1, 3]),
        Situation(name: "4 endpoints, only #2 ready", weights: [1, 1, 1, 1], notReady: [0, 1, 3]),
        Situation(name: "4 endpoints, costs 1:2:4:8 ms", weights: [1, 1, 1, 1], costs: [1e6, 2e6, 4e6, 8e6]),
        Situation(name: "3 endpoints, in flight 0:5:50", weights: [1, 1, 1], inFlight: [0, 5, 50]),
        Situation(name: "8 endpoints, request hashes", weights: Array(repeating: 1, count: 8), hashed: true),
        Situation(name: "3 endpoints, #0 answers 500s", weights: [1, 1, 1], failing: [0]),
    ]

    /// Runs every situation, then the update and speed checks; returns the faults counted.
    func run() throws -> Int {
        let before = definition.faults.count
        print("\(definition.name) from \(plugin.name) \(plugin.version) (ABI \(plugin.abiMajor).\(plugin.abiMinor))\(definition.observes ? ", observes outcomes" : "")")
        print("config: \(configJSON)")
        let model = try create { () throws(PluginError) in try definition.validate(configJSON: configJSON) }
        print("load model: defaultRtt \(DurationText.format(model.defaultRtt)), decay \(DurationText.format(model.decay))")
        for (index, situation) in Self.situations.enumerated() {
            let faults = definition.faults.count
            let instance = try create { () throws(PluginError) in try definition.makeInstance(configJSON: configJSON, seed: UInt64(index + 1)) }
            print(exercise(instance, situation) + "  faults \(definition.faults.count - faults)")
        }
        let faults = definition.faults.count
        print(try updates() + "  faults \(definition.faults.count - faults)")
        print(try speed())
        return definition.faults.count - before
    }

    private func endpoints(_ count: Int, from first: Int = 1, weights: [Int]? = nil) -> [BalancerEndpoint] {
        (0..<count).map { BalancerEndpoint(address: "10.0.0.\(first + $0):8080", weight: weights?[$0] ?? 1) }
    }

    /// Picks `picks` times over one situation (observing each outcome) and describes the spread.
    private func exercise(_ instance: BalancerInstance, _ situation: Situation) -> String {
        let count = situation.weights.count
        instance.update(endpoints(count, weights: situation.weights))
        for i in 0..<count {
            // As the host does: cost is the RTT estimate × (in flight + 1).
            let inFlight = situation.inFlight?[i] ?? 0
            instance.setLoad(i, inFlight: inFlight, cost: (situation.costs?[i] ?? 1_000_000) * Double(inFlight + 1))
            if situation.notReady.contains(i) { instance.setReady(i, false) }
        }
        var chosen = [Int](repeating: 0, count: count)
        var byHash: [UInt64: Int] = [:]
        var stable = true
        for n in 0..<picks {
            let hash: UInt64? = situation.hashed ? StableHash.hash("user-\(n % 64)") : nil
            guard let index = instance.pick(hash: hash) else { continue }
            chosen[index] += 1
            if let hash {
                if let earlier = byHash[hash], earlier != index { stable = false }
                byHash[hash] = index
            }
            instance.observe(
                BalancerOutcome(endpoint: index, latencyNanoseconds: 1_000_000, httpStatus: situation.failing.contains(index) ? 500 : 200))
        }
        let spread = chosen.map { percent($0, of: picks) }.joined(separator: " ")
        let hashNote = situation.hashed ? (stable ? "  (same hash, same endpoint)" : "  (same hash, different endpoints)") : ""
        return "  \(pad(situation.name, 38)) \(spread)\(hashNote)"
    }

    /// Zero endpoints, then a set, then one that keeps some addresses in another order and adds one.
    private func updates() throws -> String {
        let instance = try create { () throws(PluginError) in try definition.makeInstance(configJSON: configJSON, seed: 99) }
        instance.update([])
        instance.update(endpoints(4))
        for _ in 0..<picks { _ = instance.pick() }
        instance.update(Array(endpoints(4).reversed().prefix(3)) + endpoints(1, from: 9))
        var chosen = [Int](repeating: 0, count: 4)
        for _ in 0..<picks { if let i = instance.pick() { chosen[i] += 1 } }
        return "  \(pad("updates: 0 → 4 → 3 kept + 1 new", 38)) \(chosen.map { percent($0, of: picks) }.joined(separator: " "))"
    }

    /// Nanoseconds per pick (and per pick with its observe) over 8 ready endpoints.
    private func speed() throws -> String {
        let instance = try create { () throws(PluginError) in try definition.makeInstance(configJSON: configJSON, seed: 7) }
        instance.update(endpoints(8))
        for i in 0..<8 { instance.setLoad(i, inFlight: i % 3, cost: Double(1_000_000 * (i + 1))) }
        let rounds = max(picks * 10, 100_000)
        let clock = ContinuousClock()
        let picking = clock.measure {
            for _ in 0..<rounds { _ = instance.pick() }
        }
        var line = "speed (8 endpoints): \(nanoseconds(picking, rounds)) ns per pick"
        if definition.observes {
            let observing = clock.measure {
                for _ in 0..<rounds {
                    let index = instance.pick() ?? 0
                    instance.observe(BalancerOutcome(endpoint: index, latencyNanoseconds: 1_000_000, httpStatus: 200))
                }
            }
            line += ", \(nanoseconds(observing, rounds)) ns per pick and observe"
        }
        return line
    }
}

/// A resolver asked about one authority as a service and as an endpoint.
struct ResolverExercise {
    let definition: ResolverDefinition
    let configJSON: String
    let authority: String
    let labels: [String]

    func run() throws -> Int {
        let before = definition.faults.count
        let address: Authority
        do {
            address = try Authority(parsing: authority)
        } catch {
            printError("switchyard: --authority '\(authority)': \(error)")
            throw ExitCode.failure
        }
        var pairs: [(key: String, value: String)] = []
        for label in labels {
            guard let equals = label.firstIndex(of: "=") else {
                printError("switchyard: --label '\(label)' is not key=value")
                throw ExitCode.failure
            }
            pairs.append((String(label[..<equals]), String(label[label.index(after: equals)...])))
        }
        let instance = try create { () throws(PluginError) in try definition.makeInstance(configJSON: configJSON) }
        print("\(definition.name) from \(definition.context.name)\n  config: \(configJSON)")
        let clock = ContinuousClock()
        let rounds = 10_000
        if definition.resolvesServices {
            let answer = instance.resolve(service: address)
            let time = clock.measure { for _ in 0..<rounds { _ = instance.resolve(service: address) } }
            print("  service \(authority): \(answer.map { "\($0)" } ?? "declined")  (\(nanoseconds(time, rounds)) ns per call)")
        }
        if definition.resolvesEndpoints {
            let answer = instance.resolve(endpoint: address, labels: pairs)
            let time = clock.measure { for _ in 0..<rounds { _ = instance.resolve(endpoint: address, labels: pairs) } }
            let shown = pairs.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            print("  endpoint \(authority) [\(shown)]: \(answer.map { "\($0)" } ?? "declined")  (\(nanoseconds(time, rounds)) ns per call)")
        }
        let faults = definition.faults.count - before
        print("  faults \(faults)")
        return faults
    }
}

private func percent(_ part: Int, of whole: Int) -> String {
    let value = whole == 0 ? 0 : Double(part) * 100 / Double(whole)
    let text = String(Int((value * 10).rounded()))
    let padded = String(repeating: "0", count: max(0, 2 - text.count)) + text
    return "\(padded.dropLast()).\(padded.suffix(1))%"
}

private func nanoseconds(_ duration: Duration, _ rounds: Int) -> Int {
    let (seconds, attoseconds) = duration.components
    return Int((Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(rounds))
}
