import SwitchyardCore
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
    /// Which config generation is served (1 from startup, one more per reload), since when,
    /// and how the last reload ended (`nil` error: served).
    private let history = Mutex<(generation: Int, loadedAt: String, lastReload: (at: String, error: String?)?)>((0, "", nil))
    /// The live part of `/state` (backends, breakers), set once the proxy serves.
    private let live = Mutex<(@Sendable () -> (services: JSONValue, backends: JSONValue, events: JSONValue))?>(nil)
    /// The served table's discoveries: whether each gave its first set, and each discovered
    /// backend's live endpoints (by backend index).
    private let discovered = Mutex<(@Sendable () -> (settled: Bool, backends: [Int: RoutingTable.LiveBackend]))?>(nil)

    /// Creates the state of a proxy still loading (not ready).
    public init(logLevel: LogLevelControl, exporter: MetricsExporter) {
        self.logLevel = logLevel
        self.exporter = exporter
    }

    /// Ready: config and plugins are loaded and the listener is bound, serving `table` (and,
    /// after a reload, the new table).
    public func activate(_ table: RoutingTable) {
        active.withLock { $0 = table }
        let now = SwitchyardLogHandler.timestamp()
        history.withLock { history in
            history.generation += 1
            history.loadedAt = now
            if history.generation > 1 { history.lastReload = (now, nil) }
        }
    }

    /// A reload was refused with `error`; the running config stays.
    func reloadRefused(_ error: String) {
        let now = SwitchyardLogHandler.timestamp()
        history.withLock { $0.lastReload = (now, error) }
    }

    /// Where `/state` reads the served table's live state.
    func serve(state: @escaping @Sendable () -> (services: JSONValue, backends: JSONValue, events: JSONValue)) {
        live.withLock { $0 = state }
    }

    /// Where `/ready` and `/config` read the served table's discoveries.
    func serve(discoveries: @escaping @Sendable () -> (settled: Bool, backends: [Int: RoutingTable.LiveBackend])) {
        discovered.withLock { $0 = discoveries }
    }

    /// `/config`: `table` with its discovered backends' live endpoints.
    func configJSON(_ table: RoutingTable) -> JSONValue {
        let backends = discovered.withLock { $0 }?().backends ?? [:]
        return table.json { backends[$0] }
    }

    /// `/state`: what the dashboard shows.
    var stateJSON: JSONValue? {
        guard let table, let live = live.withLock({ $0 }) else { return nil }
        let (services, backends, events) = live()
        let history = history.withLock { $0 }
        let lastReload: JSONValue = history.lastReload.map { reload in
            .object([
                ("at", .string(reload.at)), ("result", .string(reload.error == nil ? "served" : "refused")),
                ("error", reload.error.map(JSONValue.string) ?? .null),
            ])
        } ?? .null
        var plugins: JSONValue = .array([])
        if case .object(let members) = table.registry.pluginsJSON, let list = members.first(where: { $0.key == "plugins" })?.value {
            plugins = list
        }
        return .object([
            ("generation", .number(Double(history.generation))),
            ("loadedAt", .string(history.loadedAt)),
            ("lastReload", lastReload),
            ("logLevel", .string("\(logLevel.level)")),
            ("draining", .bool(draining.load(ordering: .relaxed))),
            ("services", services),
            ("backends", backends),
            ("breakerEvents", events),
            ("plugins", plugins),
        ])
    }

    /// The proxy is draining: no longer ready.
    func drain() { draining.store(true, ordering: .relaxed) }

    /// Whether `/ready` answers 200: a table is served, each of its discoveries gave its first
    /// set (or ran out of `initialFetchTimeout`), and the proxy is not draining.
    var isReady: Bool {
        !draining.load(ordering: .relaxed) && table != nil && (discovered.withLock { $0 }?().settled ?? true)
    }

    /// The table being served, once ready.
    var table: RoutingTable? { active.withLock { $0 } }
}
