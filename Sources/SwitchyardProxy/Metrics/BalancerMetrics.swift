import Prometheus
import SwitchyardCore
import Synchronization

/// The series of one backend's balancer: its endpoints by state, for every parent routing to
/// it (DESIGN.md §8), and the length of its queue.
final class BalancerMetrics: Sendable {
    /// `outbound_http_balancer_endpoints{endpoint_state="ready"}`, one per parent.
    private let ready: [Gauge]
    /// `outbound_http_balancer_endpoints{endpoint_state="pending"}`, one per parent.
    private let pending: [Gauge]
    /// Requests waiting in the backend's queues (every event loop's).
    let queueLength: Gauge
    /// Set when a reload replaced the table: its breakers no longer move the gauges.
    private let retired = Atomic<Bool>(false)

    /// Registers the series of `backend`, routed to by `parents`. A series the table being
    /// served shares keeps its value until ``publishAllReady()``.
    init(registry: PrometheusCollectorRegistry, backend: RoutingTable.Backend, parents: [ParentRef]) {
        let backendLabels = MetricLabels.backend(backend.backend)
        func endpoints(_ parent: ParentRef, _ state: String) -> Gauge {
            registry.makeGauge(
                descriptor: MetricFamilies.balancerEndpoints,
                labels: MetricLabels.parent(parent) + backendLabels + [("endpoint_state", state)])
        }
        ready = parents.map { endpoints($0, "ready") }
        pending = parents.map { endpoints($0, "pending") }
        queueLength = registry.makeGauge(descriptor: MetricFamilies.balancerQueueLength, labels: backendLabels)
    }

    /// The table is about to be served with its `count` endpoints ready (breakers carried over
    /// by a reload then mark theirs pending).
    func publishAllReady(count: Int) {
        setEndpoints(ready: count, pending: 0)
    }

    /// A discovery changed the endpoints: `ready` of them are ready, `pending` are not.
    func setEndpoints(ready: Int, pending: Int) {
        guard !retired.load(ordering: .relaxed) else { return }
        for gauge in self.ready { gauge.set(Int64(ready)) }
        for gauge in self.pending { gauge.set(Int64(pending)) }
    }

    /// One endpoint left the ready set (its breaker tripped).
    func endpointPending() {
        guard !retired.load(ordering: .relaxed) else { return }
        for gauge in ready { gauge.decrement() }
        for gauge in pending { gauge.increment() }
    }

    /// One endpoint is back in the ready set (its breaker reopened).
    func endpointReady() {
        guard !retired.load(ordering: .relaxed) else { return }
        for gauge in pending { gauge.decrement() }
        for gauge in ready { gauge.increment() }
    }

    /// The table was replaced: the next table's series own the gauges now.
    func retire() { retired.store(true, ordering: .relaxed) }

    /// Every gauge it registered.
    var gauges: [Gauge] { ready + pending + [queueLength] }
}

/// The breaker transitions of one endpoint, and the balancer gauges they move.
final class BreakerMetrics: Sendable {
    private let tripped: Counter
    private let probing: Counter
    private let reopened: Counter
    private let balancer: BalancerMetrics

    init(registry: PrometheusCollectorRegistry, backend: BackendRef, endpoint: Authority, balancer: BalancerMetrics) {
        self.balancer = balancer
        func transitions(_ transition: String) -> Counter {
            registry.makeCounter(
                descriptor: MetricFamilies.breakerTransitions,
                labels: MetricLabels.backend(backend) + [("endpoint_addr", endpoint.description), ("transition", transition)])
        }
        tripped = transitions("tripped")
        probing = transitions("probing")
        reopened = transitions("reopened")
    }

    /// Every counter it registered.
    var counters: [Counter] { [tripped, probing, reopened] }

    /// The breaker tripped; `wasReady` when it left the ready set by it (not a failed probe).
    func didTrip(wasReady: Bool) {
        tripped.increment()
        if wasReady { balancer.endpointPending() }
    }

    /// A probe was admitted.
    func didProbe() { probing.increment() }

    /// A reload carried over the endpoint's breaker while it was out of rotation.
    func didCarryPending() { balancer.endpointPending() }

    /// The breaker reopened.
    func didReopen() {
        reopened.increment()
        balancer.endpointReady()
    }
}
