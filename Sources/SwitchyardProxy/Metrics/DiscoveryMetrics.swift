#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Prometheus
import SwitchyardCore
import SwitchyardPluginHost

/// The series of one backend's discovery (DESIGN.md §8): events by kind, the state the
/// source is in, and when it last published. Labels: the backend's, then `discovery`.
final class DiscoveryMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let updates: [DiscoveryEvent.Kind: Counter]
    private let states: [EndpointFeed.Phase: Gauge]
    private let lastUpdate: Gauge
    /// What its labels name: two feeds with the same identity share every series.
    let identity: Identity

    /// A backend's discovery, as the series' labels name it.
    struct Identity: Hashable, Sendable {
        let backend: BackendRef
        let discovery: String
    }

    init(registry: PrometheusCollectorRegistry, backend: BackendRef, discovery: String) {
        self.registry = registry
        self.identity = Identity(backend: backend, discovery: discovery)
        let labels = MetricLabels.backend(backend) + [("discovery", discovery)]
        let kinds: [DiscoveryEvent.Kind] = [.reset, .add, .remove, .notFound, .current, .error]
        updates = Dictionary(
            uniqueKeysWithValues: kinds.map { kind in
                (kind, registry.makeCounter(descriptor: MetricFamilies.discoveryUpdates, labels: labels + [("event", kind.description)]))
            })
        states = Dictionary(
            uniqueKeysWithValues: EndpointFeed.Phase.allCases.map { phase in
                (phase, registry.makeGauge(descriptor: MetricFamilies.discoveryState, labels: labels + [("state", phase.rawValue)]))
            })
        lastUpdate = registry.makeGauge(descriptor: MetricFamilies.discoveryLastUpdate, labels: labels)
    }

    /// An event of `kind` was taken.
    func count(_ kind: DiscoveryEvent.Kind) { updates[kind]?.increment() }

    /// The source is now in `phase`.
    func enter(_ phase: EndpointFeed.Phase) {
        for (state, gauge) in states { gauge.set(Int64(state == phase ? 1 : 0)) }
    }

    /// An event was taken just now.
    func touch() {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        lastUpdate.set(Double(now.tv_sec) + Double(now.tv_nsec) / 1e9)
    }

    /// The feed stopped: its series leave `/metrics`.
    func unregister() {
        for counter in updates.values { registry.unregisterCounter(counter) }
        for gauge in states.values { registry.unregisterGauge(gauge) }
        registry.unregisterGauge(lastUpdate)
    }
}
