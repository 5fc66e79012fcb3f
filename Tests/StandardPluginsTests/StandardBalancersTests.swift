import Logging
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardTestSupport
import Testing

/// The standard balancers, loaded from the built `libStandardBalancers.so` and driven through
/// the ABI with fixed seeds, so every count below is exact and repeatable.
@Suite("Standard balancers (through the ABI)")
struct StandardBalancersTests {
    let registry: PluginRegistry

    init() throws {
        registry = PluginRegistry(logger: Logger(label: "test"))
        try registry.load(BuildProducts.plugin("StandardBalancers"))
    }

    func balancer(_ name: String, config: String = "{}", seed: UInt64 = 7, endpoints: Int = 3, weights: [Int]? = nil) throws -> BalancerInstance {
        let instance = try #require(registry.balancer(named: name)).makeInstance(configJSON: config, seed: seed)
        instance.update((0..<endpoints).map { BalancerEndpoint(address: "10.0.0.\($0 + 1):8080", weight: weights?[$0] ?? 1) })
        return instance
    }

    func counts(_ instance: BalancerInstance, picks: Int, hash: (Int) -> UInt64? = { _ in nil }) -> [Int] {
        var counts = [Int](repeating: 0, count: instance.count)
        for i in 0..<picks {
            guard let index = instance.pick(hash: hash(i)) else {
                Issue.record("no pick")
                continue
            }
            counts[index] += 1
        }
        return counts
    }

    @Test("the plugin exports the seven balancers")
    func exports() {
        #expect(registry.balancerNames == ["least-request", "maglev", "p2c-peak-ewma", "random", "ring-hash", "round-robin", "weighted-round-robin"])
    }

    // MARK: p2c-peak-ewma

    @Test("p2c with two endpoints always takes the cheaper one")
    func p2cTwo() throws {
        let p2c = try balancer("p2c-peak-ewma", endpoints: 2)
        p2c.setLoad(0, inFlight: 0, cost: 100_000_000)
        p2c.setLoad(1, inFlight: 0, cost: 10_000_000)
        #expect(counts(p2c, picks: 1000) == [0, 1000])
    }

    @Test("p2c prefers lower cost: the cheapest of three wins 2/3 of picks, the dearest never")
    func p2cPrefersLowerCost() throws {
        let p2c = try balancer("p2c-peak-ewma")
        p2c.setLoad(0, inFlight: 0, cost: 10_000_000)
        p2c.setLoad(1, inFlight: 0, cost: 20_000_000)
        p2c.setLoad(2, inFlight: 0, cost: 30_000_000)
        let c = counts(p2c, picks: 9000)
        #expect(c[2] == 0)
        #expect(abs(c[0] - 6000) < 300, "\(c)")  // P(cheapest in the pair) = 2/3; ±5%
        #expect(abs(c[1] - 3000) < 300, "\(c)")
    }

    @Test("p2c compares estimates from rttFloor up: sub-floor endpoints tie (in-flight decides), an untried one (cost 0) still wins")
    func p2cFloor() throws {
        // 0.1 ms against 0.2 ms, both idle: under the 1 ms floor they tie, so each wins its draws half the time.
        let floored = try balancer("p2c-peak-ewma", endpoints: 2)
        floored.setLoad(0, inFlight: 0, cost: 100_000)
        floored.setLoad(1, inFlight: 0, cost: 200_000)
        let tied = counts(floored, picks: 1000)
        #expect(abs(tied[0] - 500) < 80, "\(tied)")
        // One request out makes an endpoint dearer: 1 ms × 2 against 1 ms × 1.
        floored.setLoad(0, inFlight: 1, cost: 200_000)
        #expect(counts(floored, picks: 100) == [0, 100])
        // Never tried: 0 beats the floor.
        floored.setLoad(0, inFlight: 0, cost: 0)
        #expect(counts(floored, picks: 100) == [100, 0])
        // rttFloor 0 compares the estimates as measured.
        let exact = try balancer("p2c-peak-ewma", config: #"{"rttFloor": "0s"}"#, endpoints: 2)
        exact.setLoad(0, inFlight: 0, cost: 100_000)
        exact.setLoad(1, inFlight: 0, cost: 200_000)
        #expect(counts(exact, picks: 100) == [100, 0])
    }

    @Test("p2c with equal costs spreads evenly, skips endpoints that are not ready, and answers none when none is")
    func p2cReadiness() throws {
        let p2c = try balancer("p2c-peak-ewma", endpoints: 4)
        let even = counts(p2c, picks: 8000)
        #expect(even.allSatisfy { abs($0 - 2000) < 200 }, "\(even)")
        p2c.setReady(1, false)
        p2c.setReady(3, false)
        let ready = counts(p2c, picks: 1000)
        #expect(ready[1] == 0 && ready[3] == 0)
        #expect(abs(ready[0] - 500) < 60, "\(ready)")
        p2c.setReady(0, false)
        #expect(counts(p2c, picks: 10) == [0, 0, 10, 0])
        p2c.setReady(2, false)
        #expect(p2c.pick() == nil)
    }

    @Test("p2c reads defaultRtt and decay into the host's load model, and refuses bad values")
    func p2cConfig() throws {
        let definition = try #require(registry.balancer(named: "p2c-peak-ewma"))
        #expect(try definition.validate(configJSON: "{}") == LoadModel(defaultRtt: .milliseconds(30), decay: .seconds(10)))
        #expect(try definition.validate(configJSON: #"{"defaultRtt": "5ms", "decay": "1m"}"#) == LoadModel(defaultRtt: .milliseconds(5), decay: .seconds(60)))
        for (config, message) in [
            (#"{"decay": "0s"}"#, #"decay: must be at least 1ms, got "0s""#),
            (#"{"defaultRtt": "soon"}"#, #"defaultRtt: expected a duration such as 250ms, 3s or 1m, got "soon""#),
            (#"{"decai": "5s"}"#, "decai: unknown key (known: decay, defaultRtt, rttFloor)"),
            (#"{"rttFloor": "-1ms"}"#, #"rttFloor: expected a duration such as 250ms, 3s or 1m, got "-1ms""#),
        ] {
            let error = #expect(throws: PluginError.self) { try definition.validate(configJSON: config) }
            #expect(error?.problem == .configRefused(kind: .balancer, name: "p2c-peak-ewma", plugin: "standard-balancers", message: message))
        }
    }

    @Test("equal seeds give equal pick sequences")
    func deterministic() throws {
        for name in ["p2c-peak-ewma", "random", "least-request"] {
            let a = try balancer(name, seed: 99, endpoints: 5)
            let b = try balancer(name, seed: 99, endpoints: 5)
            #expect((0..<200).map { _ in a.pick() } == (0..<200).map { _ in b.pick() }, "\(name)")
        }
    }

    // MARK: round-robin, random, least-request, weighted-round-robin

    @Test("round-robin cycles exactly, and skips an endpoint that is not ready")
    func roundRobin() throws {
        let rr = try balancer("round-robin")
        let picks = (0..<9).compactMap { _ in rr.pick() }
        let start = picks[0]
        #expect(picks == (0..<9).map { (start + $0) % 3 })
        rr.setReady(1, false)
        let skipping = (0..<6).compactMap { _ in rr.pick() }
        #expect(Set(skipping) == [0, 2])
        #expect(zip(skipping, skipping.dropFirst()).allSatisfy { $0 != $1 })
    }

    @Test("random is uniform within 5% over 12000 picks with a fixed seed")
    func random() throws {
        let c = counts(try balancer("random", endpoints: 4), picks: 12_000)
        #expect(c.allSatisfy { abs($0 - 3000) < 150 }, "\(c)")
    }

    @Test("least-request favours the endpoint with fewest requests in flight")
    func leastRequest() throws {
        let lr = try balancer("least-request", config: #"{"choiceCount": 10}"#)
        lr.setLoad(0, inFlight: 5, cost: 1)
        lr.setLoad(1, inFlight: 0, cost: 1)
        lr.setLoad(2, inFlight: 5, cost: 1)
        let c = counts(lr, picks: 1000)
        #expect(c[1] > 950, "\(c)")  // missed only when all 10 draws avoid it: (2/3)^10 ≈ 1.7%
        let two = try balancer("least-request")
        two.setLoad(0, inFlight: 9, cost: 1)
        let d = counts(two, picks: 9000)
        #expect(d[0] < 1100, "\(d)")  // chosen only when both draws land on it: 1/9
        let definition = try #require(registry.balancer(named: "least-request"))
        let error = #expect(throws: PluginError.self) { try definition.validate(configJSON: #"{"choiceCount": 1}"#) }
        #expect(error?.problem == .configRefused(kind: .balancer, name: "least-request", plugin: "standard-balancers", message: "choiceCount: must be between 2 and 100, got 1"))
    }

    @Test("weighted-round-robin is exact and smooth: weights 5,1,1 give a a b a c a a")
    func weightedRoundRobin() throws {
        let wrr = try balancer("weighted-round-robin", weights: [5, 1, 1])
        #expect((0..<7).compactMap { _ in wrr.pick() } == [0, 0, 1, 0, 2, 0, 0])
        let split = try balancer("weighted-round-robin", endpoints: 2, weights: [90, 10])
        #expect(counts(split, picks: 10_000) == [9000, 1000])
        split.setReady(0, false)
        #expect(counts(split, picks: 10) == [0, 10])
    }

    // MARK: ring-hash and maglev

    func keyHash(_ key: Int) -> UInt64 { StableHash.hash("user-\(key)") }

    @Test("consistent hashing: the same key lands on the same endpoint on every event loop", arguments: ["ring-hash", "maglev"])
    func sameKeySameEndpoint(name: String) throws {
        let loopA = try balancer(name, seed: 1, endpoints: 10)
        let loopB = try balancer(name, seed: 2, endpoints: 10)
        for key in 0..<500 {
            #expect(loopA.pick(hash: keyHash(key)) == loopB.pick(hash: keyHash(key)))
        }
    }

    @Test("consistent hashing spreads keys: each of 10 endpoints gets 5-15% of 20000 keys", arguments: ["ring-hash", "maglev"])
    func spread(name: String) throws {
        let instance = try balancer(name, endpoints: 10)
        let c = counts(instance, picks: 20_000, hash: keyHash)
        #expect(c.allSatisfy { $0 > 1000 && $0 < 3000 }, "\(c)")
    }

    @Test("removing one endpoint of 10 keeps ≥ 95% of the other keys where they were", arguments: ["ring-hash", "maglev"])
    func stableWhenEndpointRemoved(name: String) throws {
        let instance = try balancer(name, endpoints: 10)
        let addresses = (0..<10).map { "10.0.0.\($0 + 1):8080" }
        let before = (0..<20_000).map { addresses[instance.pick(hash: keyHash($0))!] }
        instance.update(addresses.filter { $0 != addresses[4] }.map { BalancerEndpoint(address: $0) })
        let remaining = addresses.filter { $0 != addresses[4] }
        let after = (0..<20_000).map { remaining[instance.pick(hash: keyHash($0))!] }
        let kept = zip(before, after).filter { $0.0 != addresses[4] }
        let unchanged = kept.filter { $0.0 == $0.1 }.count
        #expect(Double(unchanged) / Double(kept.count) >= 0.95, "\(unchanged) of \(kept.count) kept")
        if name == "ring-hash" { #expect(unchanged == kept.count) }  // a ring moves only the removed endpoint's keys
    }

    @Test("keys of an endpoint that is not ready move; the others stay", arguments: ["ring-hash", "maglev"])
    func notReadyMovesOnlyItsKeys(name: String) throws {
        let instance = try balancer(name, endpoints: 5)
        let before = (0..<5000).map { instance.pick(hash: keyHash($0))! }
        instance.setReady(2, false)
        let after = (0..<5000).map { instance.pick(hash: keyHash($0))! }
        #expect(!after.contains(2))
        #expect(zip(before, after).allSatisfy { $0.0 == 2 || $0.0 == $0.1 })
    }

    @Test("weights scale an endpoint's share of keys", arguments: ["ring-hash", "maglev"])
    func weightedHashing(name: String) throws {
        let instance = try balancer(name, endpoints: 2, weights: [3, 1])
        let c = counts(instance, picks: 20_000, hash: keyHash)
        let share = Double(c[0]) / 20_000
        #expect(share > 0.68 && share < 0.82, "\(c)")  // 75% ± 7%
    }

    @Test("without a request hash the pick is random among ready endpoints", arguments: ["ring-hash", "maglev"])
    func noHash(name: String) throws {
        let c = counts(try balancer(name, endpoints: 3), picks: 3000)
        #expect(c.allSatisfy { $0 > 800 }, "\(c)")
    }

    @Test("maglev refuses a table size that is not prime; ring-hash refuses a bad replica count")
    func hashingConfig() throws {
        let maglev = try #require(registry.balancer(named: "maglev"))
        let error = #expect(throws: PluginError.self) { try maglev.validate(configJSON: #"{"tableSize": 65536}"#) }
        #expect(error?.problem == .configRefused(kind: .balancer, name: "maglev", plugin: "standard-balancers", message: "tableSize: must be a prime number, got 65536"))
        _ = try maglev.validate(configJSON: #"{"tableSize": 251}"#)
        let ring = try #require(registry.balancer(named: "ring-hash"))
        #expect(throws: PluginError.self) { try ring.validate(configJSON: #"{"replicas": 0}"#) }
        _ = try ring.validate(configJSON: #"{"replicas": 40, "maxRingSize": 4096}"#)
    }
}
