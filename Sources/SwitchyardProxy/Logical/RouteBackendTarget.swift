import Prometheus
import SwitchyardCore

/// One route backend (parent × route × backend) as one event loop sends to it: where its
/// requests go, its weight in its rule's distribution, and its series with this loop's handles
/// of them. Built once per table and loop (linkerd's `Param` idea: the target carries what the
/// request path needs), so routing indexes nothing.
final class RouteBackendTarget {
    /// Where its requests go.
    enum Destination {
        /// A backend's queue and endpoints.
        case backend(BackendRuntime)
        /// Nowhere: a `fail` backend answers 502 with this message.
        case fail(message: String)
    }

    /// Its metadata (the `backend_*` labels), and its route's (`route_*`).
    let ref: BackendRef
    let route: RouteRef
    /// The two refs as the access log writes them, made once.
    let routeName: String
    let backendName: String
    /// Its weight in its rule's distribution.
    let weight: Int
    let destination: Destination
    private let metrics: RouteBackendMetrics
    /// The response-status counters this loop has seen, made the first time each is (under the
    /// registry's lock), then incremented without one.
    private var statuses: [StatusKey: Counter] = [:]
    /// The last status counted and its counter: nearly every response repeats the one before
    /// it, which then costs no hashing.
    private var lastStatus: (key: StatusKey, counter: Counter)?

    private struct StatusKey: Hashable {
        let status: Int
        let error: ResponseError
    }

    init(ref: BackendRef, route: RouteRef, weight: Int, destination: Destination, metrics: RouteBackendMetrics) {
        self.ref = ref
        self.route = route
        self.routeName = AccessLogEntry.text(route.meta)
        self.backendName = AccessLogEntry.text(ref.meta)
        self.weight = weight
        self.destination = destination
        self.metrics = metrics
    }

    /// Whether a distribution may choose it now (a `fail` backend always may).
    var isAvailable: Bool {
        if case .backend(let backend) = destination { return backend.isAvailable }
        return true
    }

    /// Records a response that ended `nanoseconds` after its request did.
    func recordResponseDuration(nanoseconds: Int64) {
        metrics.responseDuration.record(Double(nanoseconds) / 1e9)
    }

    /// Counts a request routed to it.
    func countRequest() {
        metrics.requests.increment()
    }

    /// Counts how one of its responses ended: `status` is the HTTP or gRPC status, or -1 when
    /// none came; `error` the failure's label.
    func countResponse(status: Int, error: ResponseError) {
        let key = StatusKey(status: status, error: error)
        if let lastStatus, lastStatus.key == key {
            lastStatus.counter.increment()
            return
        }
        let counter: Counter
        if let known = statuses[key] {
            counter = known
        } else {
            counter = metrics.statusCounter(status: status < 0 ? "" : String(status), error: error.rawValue)
            statuses[key] = counter
        }
        lastStatus = (key, counter)
        counter.increment()
    }
}
