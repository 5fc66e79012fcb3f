import Prometheus
import Synchronization

/// The global client-connection limit (`limits.connections`): a connection accepted past it
/// is closed at once and counted, so one client opening thousands of connections cannot take
/// the proxy's file descriptors or its loops. Also what a drain waits for: every client
/// connection gone. Shared by every loop; one atomic add per connection.
final class ConnectionLimiter: Sendable {
    private let open = Atomic<Int>(0)
    private let limit: Atomic<Int>
    private let openGauge: Gauge
    private let refused: Counter

    init(limit: Int, exporter: MetricsExporter) {
        self.limit = Atomic(limit)
        openGauge = exporter.registry.makeGauge(descriptor: MetricFamilies.serverConnections)
        refused = exporter.registry.makeCounter(descriptor: MetricFamilies.serverConnectionsRefused)
    }

    /// Client connections open now.
    var count: Int { open.load(ordering: .relaxed) }

    /// A reload's new limit (connections already open stay).
    func setLimit(_ limit: Int) {
        self.limit.store(limit, ordering: .relaxed)
    }

    /// Takes a slot for a new connection; false (and counted as refused) when none is left.
    func admit() -> Bool {
        let now = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard now <= limit.load(ordering: .relaxed) else {
            open.wrappingSubtract(1, ordering: .relaxed)
            refused.increment()
            return false
        }
        openGauge.increment()
        return true
    }

    /// An admitted connection closed.
    func release() {
        open.wrappingSubtract(1, ordering: .relaxed)
        openGauge.decrement()
    }
}
