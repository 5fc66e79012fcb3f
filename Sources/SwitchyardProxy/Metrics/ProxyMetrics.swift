import Prometheus
import SwitchyardCore
import SwitchyardPluginHost
import Synchronization

/// Every metric the proxy exports (DESIGN.md §8), on one Prometheus registry. Series are made
/// when a table loads, so the request path only increments handles it was given.
public final class ProxyMetrics: Sendable {
    /// The registry `/metrics` renders.
    let registry: PrometheusCollectorRegistry
    /// Route backends by service, route, rule and backend index (the routing table's shape).
    let routeBackends: [[[[RouteBackendMetrics]]]]
    /// Balancer series by backend index.
    let balancers: [BalancerMetrics]
    /// Breaker series by backend and endpoint index (backends with failure accrual only).
    let breakers: [[BreakerMetrics]?]
    private let pluginFaults: PluginFaultMetrics

    /// Registers every series of `table`.
    public init(table: RoutingTable) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        routeBackends = table.services.map { service in
            let parent = MetricLabels.parent(service.policy.parent)
            return service.policy.routes.map { route in
                let routeLabels = MetricLabels.route(route.route)
                return route.rules.map { rule in
                    rule.backends.map { backend in
                        RouteBackendMetrics(
                            registry: registry, proto: service.policy.proto,
                            labels: parent + routeLabels + MetricLabels.backend(backend.backend))
                    }
                }
            }
        }
        var parents = Array(repeating: [ParentRef](), count: table.backends.count)
        for service in table.services {
            for index in Set(service.policy.backendIndices).sorted() { parents[index].append(service.policy.parent) }
        }
        let balancers = table.backends.enumerated().map { index, backend in
            BalancerMetrics(registry: registry, backend: backend, parents: parents[index])
        }
        self.balancers = balancers
        breakers = table.backends.enumerated().map { index, backend in
            backend.failureAccrual.map { _ in
                backend.endpoints.map { endpoint in
                    BreakerMetrics(registry: registry, backend: backend.backend, endpoint: endpoint.address, balancer: balancers[index])
                }
            }
        }
        pluginFaults = PluginFaultMetrics(registry: registry, plugins: table.registry.plugins)
    }

    /// The Prometheus text exposition of every series.
    public func exposition() -> [UInt8] {
        pluginFaults.update()
        return registry.emitToBuffer()
    }
}

extension ServicePolicy {
    /// Indices of the backends its routes send to, in route order (repeats included).
    var backendIndices: [Int] {
        routes.flatMap { route in
            route.rules.flatMap { rule in
                rule.backends.compactMap { backend in
                    if case .backend(let index) = backend.target { return index }
                    return nil
                }
            }
        }
    }
}

/// `switchyard_plugin_faults_total` per plugin implementation. Plugins count their faults
/// themselves (lock-free, on the request path); the counters catch up when `/metrics` is read.
final class PluginFaultMetrics: Sendable {
    private struct Entry {
        let record: FaultRecord
        let counter: Counter
        var reported: Int
    }

    private let entries: Mutex<[Entry]>

    init(registry: PrometheusCollectorRegistry, plugins: [LoadedPlugin]) {
        var entries: [Entry] = []
        for plugin in plugins {
            let implementations = plugin.resolvers.map { ("resolver", $0.faults) } + plugin.balancers.map { ("balancer", $0.faults) }
            for (kind, record) in implementations {
                let counter = registry.makeCounter(
                    descriptor: MetricFamilies.pluginFaults,
                    labels: [("plugin", plugin.name), ("kind", kind), ("implementation", record.implementation)])
                entries.append(Entry(record: record, counter: counter, reported: 0))
            }
        }
        self.entries = Mutex(entries)
    }

    /// Brings the counters up to the plugins' own counts.
    func update() {
        entries.withLock { entries in
            for i in entries.indices {
                let count = entries[i].record.count
                if count > entries[i].reported {
                    entries[i].counter.increment(by: Int64(count - entries[i].reported))
                    entries[i].reported = count
                }
            }
        }
    }
}
