import Benchmark
import Foundation
import Logging
import StandardBalancing
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardPluginKit

/// Where the plugins are: `SWITCHYARD_PLUGIN_DIR`, else the root package's release build.
private let pluginDirectory: String = {
    if let dir = ProcessInfo.processInfo.environment["SWITCHYARD_PLUGIN_DIR"], !dir.isEmpty { return dir }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/release").path
}()

private func registry() -> PluginRegistry {
    let registry = PluginRegistry(logger: Logger(label: "bench"))
    do {
        try registry.load("\(pluginDirectory)/libStandardBalancers.so")
        try registry.load("\(pluginDirectory)/libStandardResolvers.so")
        try registry.load("\(pluginDirectory)/libExampleErrorRampBalancer.so")
    } catch {
        fatalError("\(error)\nBuild the plugins first: (cd .. && swift build -c release), or set SWITCHYARD_PLUGIN_DIR.")
    }
    return registry
}

/// `balancer` with its type hidden from the optimizer, as a host holding plugins' balancers sees it.
@inline(never)
private func opaque(_ balancer: any Balancer) -> any Balancer {
    blackHole(balancer)
    return balancer
}

/// Ten endpoints with distinct costs, as the host would hold them.
private let endpointCount = 10
private let loads = (0..<endpointCount).map { EndpointLoad(ready: true, weight: 1, inFlight: $0 % 3, cost: Double(1_000_000 * ($0 + 1))) }

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3)
    )

    // A pick through the C ABI: the host's BalancerInstance calling the dlopen'd plugin.
    for name in ["p2c-peak-ewma", "round-robin", "ring-hash"] {
        Benchmark("pick via ABI: \(name) (10 endpoints)") { benchmark in
            let instance = try registry().balancer(named: name)!.makeInstance(seed: 1)
            instance.update((0..<endpointCount).map { BalancerEndpoint(address: "10.0.0.\($0):80") })
            for (i, load) in loads.enumerated() { instance.setLoad(i, inFlight: load.inFlight, cost: load.cost) }
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                blackHole(instance.pick(hash: UInt64(truncatingIfNeeded: i) &* 0x9e37_79b9_7f4a_7c15))
            }
        }
    }

    // A pick and its outcome, as the data path does them per request: `observe` through the
    // ABI into a C balancer that uses it (error-ramp), and the host's check on a balancer
    // without the hook (p2c-peak-ewma), beside the same balancers' picks alone.
    for name in ["error-ramp", "p2c-peak-ewma"] {
        func instance() throws -> BalancerInstance {
            let instance = try registry().balancer(named: name)!.makeInstance(seed: 1)
            instance.update((0..<endpointCount).map { BalancerEndpoint(address: "10.0.0.\($0):80") })
            for (i, load) in loads.enumerated() { instance.setLoad(i, inFlight: load.inFlight, cost: load.cost) }
            return instance
        }
        if name == "error-ramp" {
            Benchmark("pick via ABI: \(name) (10 endpoints)") { benchmark in
                let balancer = try instance()
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations { blackHole(balancer.pick()) }
            }
        }
        Benchmark("pick + observe via ABI: \(name) (10 endpoints)") { benchmark in
            let balancer = try instance()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let index = balancer.pick() ?? 0
                balancer.observe(BalancerOutcome(endpoint: index, latencyNanoseconds: 2_000_000, httpStatus: 200))
            }
        }
    }

    // The same algorithms called directly in Swift, on the same load layout.
    func direct<B: Balancer>(_ type: B.Type) {
        Benchmark("pick direct: \(B.name) (10 endpoints)") { benchmark in
            var setup = BalancerSetup(seed: 1)
            let balancer = try B(config: PluginConfig(json: "{}"), setup: &setup)
            balancer.update((0..<endpointCount).map { EndpointInfo(address: "10.0.0.\($0):80", weight: 1) })
            var i: UInt64 = 0
            benchmark.startMeasurement()
            PickRequest.with(loads) { request in
                for _ in benchmark.scaledIterations {
                    i &+= 1
                    blackHole(balancer.pick(request))
                }
            }
            blackHole(i)
        }
    }
    direct(P2CPeakEwma.self)
    direct(RoundRobin.self)

    // The same algorithms called as an in-process host with pluggable Swift balancers calls
    // them: through `any Balancer`, whose concrete type it cannot see (a real call, where the
    // benchmarks above inline the algorithm into their loop). The ABI's cost over this is the
    // C boundary alone.
    func called<B: Balancer>(_ type: B.Type) {
        Benchmark("pick called (any Balancer): \(B.name) (10 endpoints)") { benchmark in
            var setup = BalancerSetup(seed: 1)
            let balancer = opaque(try B(config: PluginConfig(json: "{}"), setup: &setup))
            balancer.update((0..<endpointCount).map { EndpointInfo(address: "10.0.0.\($0):80", weight: 1) })
            benchmark.startMeasurement()
            PickRequest.with(loads) { request in
                for _ in benchmark.scaledIterations { blackHole(balancer.pick(request)) }
            }
        }
    }
    called(P2CPeakEwma.self)
    called(RoundRobin.self)

    // Resolver chains, as config loading runs them.
    Benchmark("resolver chain: services [k8s-service-name, unknown]") { benchmark in
        let chain = try ResolverChain(.services, names: ["k8s-service-name", "unknown"], registry: registry())
        let hits = try (0..<16).map { try Authority(parsing: "web-\($0).prod.svc.cluster.local:80") }
        let misses = try (0..<16).map { try Authority(parsing: "example-\($0).com:443") }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            blackHole(chain.resolve(service: i % 2 == 0 ? hits[i % 16] : misses[i % 16]))
        }
    }

    Benchmark("resolver chain: endpoints [k8s-pod-labels, unknown]") { benchmark in
        let chain = try ResolverChain(.endpoints, names: ["k8s-pod-labels", "unknown"], registry: registry())
        let address = try Authority(parsing: "127.0.0.1:18081")
        let labels: [(key: String, value: String)] = [("dst_namespace", "prod"), ("dst_pod", "web-0"), ("app", "web")]
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(chain.resolve(endpoint: address, labels: labels))
        }
    }
}
