import Prometheus
import SwitchyardCore
import SwitchyardPluginHost

/// The series of one routing table (DESIGN.md §8), made when the table loads so the request
/// path only increments handles it was given. A reload makes the next table's series; those
/// with the same labels are the same handles, and ``retire(replacedBy:)`` drops the rest.
public final class ProxyMetrics: Sendable {
    /// Route backends by service, route, rule and backend index (the routing table's shape).
    let routeBackends: [[[[RouteBackendMetrics]]]]
    /// Balancer series by backend index.
    let balancers: [BalancerMetrics]
    /// Breaker series by backend and endpoint index (empty for a backend without failure accrual).
    let breakers: [[BreakerMetrics]]
    private let exporter: MetricsExporter
    private let backendRefs: [BackendRef]

    /// Registers every series of `table` on `exporter`.
    public init(table: RoutingTable, exporter: MetricsExporter) {
        let registry = exporter.registry
        self.exporter = exporter
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
        backendRefs = table.backends.map(\.backend)
        breakers = table.backends.enumerated().map { index, backend in
            backend.failureAccrual == nil
                ? []
                : backend.endpoints.map { endpoint in
                    BreakerMetrics(registry: registry, backend: backend.backend, endpoint: endpoint.address, balancer: balancers[index])
                }
        }
        exporter.track(table.registry.plugins)
    }

    /// The breaker series of a discovered endpoint of backend `index` (the same handles as any
    /// other table's series with these labels).
    func breakerMetrics(backend index: Int, endpoint: Authority) -> BreakerMetrics {
        BreakerMetrics(registry: exporter.registry, backend: backendRefs[index], endpoint: endpoint, balancer: balancers[index])
    }

    /// Discovered endpoints left: their breaker series leave `/metrics`.
    func drop(_ breakers: [BreakerMetrics]) {
        guard !breakers.isEmpty else { return }
        exporter.unregister(counters: breakers.flatMap(\.counters), gauges: [])
    }

    /// This table is no longer served: its breakers stop moving the shared gauges, and the
    /// series `next` does not have disappear from `/metrics`.
    /// `breakers` are the breaker series this table's backends use (listed and discovered), and
    /// `nextBreakers` those of `next`'s.
    func retire(replacedBy next: ProxyMetrics, breakers: [BreakerMetrics], nextBreakers: [BreakerMetrics]) {
        for balancer in balancers { balancer.retire() }
        let nextRouteBackends = Dictionary(
            next.routeBackends.joined().joined().joined().map { (ObjectIdentifier($0.requests), $0) }, uniquingKeysWith: { a, _ in a })
        var counters: [Counter] = []
        var histograms: [ValueHistogram] = []
        for routeBackend in routeBackends.joined().joined().joined() {
            if let successor = nextRouteBackends[ObjectIdentifier(routeBackend.requests)] {
                successor.adoptStatusCounters(of: routeBackend)
            } else {
                counters += [routeBackend.requests] + routeBackend.statusCounters
                histograms.append(routeBackend.responseDuration)
            }
        }
        let nextCounters = Set(nextBreakers.flatMap(\.counters).map(ObjectIdentifier.init))
        counters += breakers.flatMap(\.counters).filter { !nextCounters.contains(ObjectIdentifier($0)) }
        let nextGauges = Set(next.balancers.flatMap(\.gauges).map(ObjectIdentifier.init))
        exporter.unregister(
            counters: counters, gauges: balancers.flatMap(\.gauges).filter { !nextGauges.contains(ObjectIdentifier($0)) }, histograms: histograms)
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
