import Synchronization

/// What the admin endpoints read: whether the proxy is ready, the active table and its
/// metrics, and the log level.
public final class AdminState: Sendable {
    /// The process's log level, which `PUT /log-level` changes.
    public let logLevel: LogLevelControl
    private let active = Mutex<(table: RoutingTable, metrics: ProxyMetrics)?>(nil)

    /// Creates the state of a proxy still loading (not ready).
    public init(logLevel: LogLevelControl) {
        self.logLevel = logLevel
    }

    /// Ready: config and plugins are loaded and the listener is bound, serving `table`.
    public func activate(table: RoutingTable, metrics: ProxyMetrics) {
        active.withLock { $0 = (table, metrics) }
    }

    /// The active table and metrics, once ready.
    var current: (table: RoutingTable, metrics: ProxyMetrics)? { active.withLock { $0 } }
}
