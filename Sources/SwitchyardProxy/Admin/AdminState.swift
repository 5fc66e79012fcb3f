import Synchronization

/// What the admin endpoints read: whether the proxy is ready, the table it serves, the
/// metrics, and the log level.
public final class AdminState: Sendable {
    /// The process's log level, which `PUT /log-level` changes.
    public let logLevel: LogLevelControl
    /// Every series, across reloads.
    public let exporter: MetricsExporter
    private let active = Mutex<RoutingTable?>(nil)
    private let draining = Atomic<Bool>(false)

    /// Creates the state of a proxy still loading (not ready).
    public init(logLevel: LogLevelControl, exporter: MetricsExporter) {
        self.logLevel = logLevel
        self.exporter = exporter
    }

    /// Ready: config and plugins are loaded and the listener is bound, serving `table` (and,
    /// after a reload, the new table).
    public func activate(_ table: RoutingTable) {
        active.withLock { $0 = table }
    }

    /// The proxy is draining: no longer ready.
    func drain() { draining.store(true, ordering: .relaxed) }

    /// Whether `/ready` answers 200: a table is served and the proxy is not draining.
    var isReady: Bool { !draining.load(ordering: .relaxed) && table != nil }

    /// The table being served, once ready.
    var table: RoutingTable? { active.withLock { $0 } }
}
