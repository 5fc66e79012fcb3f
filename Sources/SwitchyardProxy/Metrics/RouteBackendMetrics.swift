import Prometheus
import SwitchyardCore
import Synchronization

/// The series of one route backend (parent × route × backend): its request counter, made when
/// the config loads, and its response-status counters, made the first time each status and
/// error is seen (each loop's ``RouteBackendTarget`` keeps the handles it has seen).
final class RouteBackendMetrics: Sendable {
    /// Requests dispatched to the route backend.
    let requests: Counter
    /// From the request's end to the response's end (linkerd's
    /// `route_backend_response_duration_seconds`), for responses that ended.
    let responseDuration: ValueHistogram
    private let registry: PrometheusCollectorRegistry
    private let proto: ServiceProtocol
    private let statusLabel: String
    private let labels: MetricLabels.Labels
    /// The status counters made so far (so a reload that drops the route backend drops them).
    private let made = Mutex<[Counter]>([])

    init(registry: PrometheusCollectorRegistry, proto: ServiceProtocol, labels: MetricLabels.Labels) {
        self.registry = registry
        self.labels = labels
        self.requests = registry.makeCounter(descriptor: MetricFamilies.routeBackendRequests(proto), labels: labels)
        self.responseDuration = registry.makeValueHistogram(
            descriptor: MetricFamilies.routeBackendResponseDuration(proto), labels: labels, buckets: MetricFamilies.durationBuckets)
        self.proto = proto
        self.statusLabel = proto == .grpc ? "grpc_status" : "http_status"
    }

    /// The counter of responses that ended with `status` (`""` when no response came) and
    /// `error` (`""` when none).
    func statusCounter(status: String, error: String) -> Counter {
        let counter = registry.makeCounter(
            descriptor: MetricFamilies.routeBackendResponseStatuses(proto), labels: labels + [(statusLabel, status), ("error", error)])
        made.withLock { made in
            if !made.contains(where: { $0 === counter }) { made.append(counter) }
        }
        return counter
    }

    /// The status counters made so far.
    var statusCounters: [Counter] { made.withLock { $0 } }

    /// Takes over the status counters of the same route backend in the table it replaces.
    func adoptStatusCounters(of previous: RouteBackendMetrics) {
        let inherited = previous.statusCounters
        made.withLock { made in
            for counter in inherited where !made.contains(where: { $0 === counter }) { made.append(counter) }
        }
    }
}

/// How a route backend's response ended, for the `error` label.
enum ResponseError: String, Sendable {
    /// The response ended normally.
    case none = ""
    /// The request waited the failfast timeout in the queue (504).
    case failFast = "FAIL_FAST"
    /// The queue was full or the backend in fail-fast (503).
    case loadShed = "LOAD_SHED"
    /// A `fail` backend, an upstream that could not be reached, or one that broke off (502).
    case badGateway = "BAD_GATEWAY"
    /// The client went away before the response ended.
    case cancel = "CANCEL"
    /// The route's `request` timeout ran out (504).
    case requestTimeout = "REQUEST_TIMEOUT"
    /// The route's `response` timeout ran out before the response head (504).
    case responseHeadersTimeout = "RESPONSE_HEADERS_TIMEOUT"
    /// The route's `idle` timeout: no bytes either way for that long (504).
    case idleTimeout = "IDLE_TIMEOUT"
    /// The client stopped sending its body for `timeouts.requestBodyIdle` (408).
    case requestBodyTimeout = "REQUEST_BODY_TIMEOUT"
}
