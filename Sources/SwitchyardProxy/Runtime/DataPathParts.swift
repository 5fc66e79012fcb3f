import Logging
import NIOCore

/// What a data path outside ``ProxyServer`` is made of (``EmbeddedDataPath``,
/// ``HostedDataPath``): a config's table with the real plugins, its generation, one loop's state
/// on `eventLoop` in a slot, and the connection limit the config sets.
struct DataPathParts {
    let exporter = MetricsExporter()
    let generation: TableGeneration
    let slot: LoopSlot
    let connections: ConnectionLimiter

    /// Loads `yaml` with plugins from `pluginDirectory` and makes one loop's state on
    /// `eventLoop`, whose endpoints connect through `connector` and whose breakers read `clock`.
    init(
        yaml: String, pluginDirectory: String, eventLoop: EventLoop, connector: UpstreamConnector,
        clock: @escaping @Sendable () -> NIODeadline, logger: Logger
    ) throws {
        let config = try ProxyConfig(yaml: yaml)
        let table = try RoutingTable(config: config, pluginDirectory: pluginDirectory, logger: logger)
        generation = TableGeneration(
            table: table, exporter: exporter, previous: nil, environment: ProxyEnvironment(connector: connector, clock: clock),
            accessLog: nil, loops: 1, logger: logger)
        let state = try LoopState(eventLoop: eventLoop, loopIndex: 0, generation: generation, seed: 1, connector: connector)
        generation.activate()
        slot = LoopSlot(state)
        connections = ConnectionLimiter(limit: config.limits.connections, exporter: exporter)
    }
}
