import Logging
import SwitchyardCore

/// A running Switchyard: the admin port, up first so `/live` answers while the config loads,
/// and the proxy serving the resolved table. `/ready` turns 200 once the listener is bound.
/// ``reload(_:)`` swaps in a new table.
public final class ProxyRuntime: Sendable {
    private let admin: AdminServer
    private let server: ProxyServer
    private let connections: ConnectionLimiter
    private let state: AdminState
    private let pluginDirectory: String
    private let logger: Logger

    /// Where startup failed.
    public enum StartError: Error, CustomStringConvertible {
        /// The config (or a plugin it names) is bad; the error names the path.
        case config(ConfigError)
        /// The admin port could not be bound.
        case admin(Authority, any Error)
        /// The listener could not be bound.
        case listen(Authority, any Error)

        public var description: String {
            switch self {
            case .config(let error): "\(error)"
            case .admin(let address, let error): "admin: cannot listen on \(address): \(error)"
            case .listen(let address, let error): "listen: cannot listen on \(address): \(error)"
            }
        }
    }

    /// Binds the admin port (`adminAddress`, or the config's), loads plugins and resolves the
    /// table, then starts the proxy with `threads` event loops.
    public static func start(
        config: ProxyConfig, pluginDirectory: String, adminAddress: Authority? = nil, threads: Int, logLevel: LogLevelControl, logger: Logger
    ) async throws(StartError) -> ProxyRuntime {
        let state = AdminState(logLevel: logLevel, exporter: MetricsExporter())
        if let limit = FileDescriptorLimit.raiseToHard() {
            logger.debug("file descriptor limit: \(limit)")
        }
        let adminAddress = adminAddress ?? config.admin
        let admin: AdminServer
        do {
            admin = try await AdminServer.start(address: adminAddress, state: state, logger: logger)
        } catch {
            throw .admin(adminAddress, error)
        }
        do {
            let table = try RoutingTable(config: config, pluginDirectory: pluginDirectory, logger: logger)
            let accessLog = try config.accessLog.map { settings throws(ConfigError) in try AccessLogWriter(settings: settings, logger: logger) }
            let generation = TableGeneration(
                table: table, exporter: state.exporter, previous: nil, environment: .live, accessLog: accessLog, loops: threads, logger: logger)
            let server: ProxyServer
            let connections = ConnectionLimiter(limit: config.limits.connections, exporter: state.exporter)
            do {
                server = try await ProxyServer.start(generation: generation, connections: connections, threads: threads, logger: logger)
            } catch {
                await accessLog?.stop()
                throw StartError.listen(config.listen, error)
            }
            state.activate(table)
            state.serve { [server] in
                let generation = server.served
                let (services, backends) = generation.stateJSON
                return (services, backends, generation.environment.events.json)
            }
            state.serve(discoveries: { [server] in server.served.discoveries })
            return ProxyRuntime(
                admin: admin, server: server, connections: connections, state: state, pluginDirectory: pluginDirectory, logger: logger)
        } catch let error as ConfigError {
            await admin.stop()
            throw .config(error)
        } catch let error as StartError {
            await admin.stop()
            throw error
        } catch {
            await admin.stop()
            throw .listen(config.listen, error)
        }
    }

    private init(
        admin: AdminServer, server: ProxyServer, connections: ConnectionLimiter, state: AdminState, pluginDirectory: String, logger: Logger
    ) {
        self.admin = admin
        self.server = server
        self.connections = connections
        self.state = state
        self.pluginDirectory = pluginDirectory
        self.logger = logger
    }

    /// Serves `config` instead of the running one (DESIGN.md §11): new requests route with it,
    /// requests already routed finish where they are, series it no longer has disappear. A bad
    /// config is refused with its error and the running one stays. The listen and admin
    /// addresses are fixed at startup. Reloads must not overlap.
    public func reload(_ config: ProxyConfig) async throws(ConfigError) {
        do {
            try await serve(config)
        } catch {
            state.reloadRefused(error.description)
            throw error
        }
    }

    private func serve(_ config: ProxyConfig) async throws(ConfigError) {
        let running = server.served
        for (path, old, new) in [("listen", running.table.config.listen, config.listen), ("admin", running.table.config.admin, config.admin)]
        where old != new {
            throw ConfigError(path: path, "cannot change from \(old) to \(new) on a reload; restart to change it")
        }
        let table = try RoutingTable(config: config, pluginDirectory: pluginDirectory, logger: logger)
        // The access log: the running writer when its settings stay, else a new one (or none).
        let accessLog: AccessLogWriter?
        if let writer = running.accessLog, writer.settings == config.accessLog {
            accessLog = writer
        } else {
            accessLog = try config.accessLog.map { settings throws(ConfigError) in try AccessLogWriter(settings: settings, logger: logger) }
        }
        do {
            try await server.install(
                TableGeneration(
                    table: table, exporter: state.exporter, previous: running, environment: running.environment, accessLog: accessLog,
                    loops: running.loops, logger: logger))
        } catch {
            if accessLog !== running.accessLog { await accessLog?.stop() }
            throw ConfigError(path: "", "cannot serve the new config: \(error)")
        }
        // Requests the old table routed and that end from now on are not logged by a replaced writer.
        if accessLog !== running.accessLog { await running.accessLog?.stop() }
        connections.setLimit(config.limits.connections)
        state.activate(table)
    }

    /// A reload was refused before it reached ``reload(_:)`` (the file could not be read or
    /// parsed): `/state` shows it as the last reload's result.
    public func reloadRefused(_ description: String) {
        state.reloadRefused(description)
    }

    /// Reopens the access log's file (SIGUSR1, after a log rotation moved it away).
    public func reopenAccessLog() {
        server.served.accessLog?.reopen()
    }

    /// Waits for the first stop request (a signal) on `requests`, or until the listener
    /// closes by itself (`requester` is then told, so the wait ends either way).
    public func stopRequested(_ requests: AsyncStream<Void>, requester: AsyncStream<Void>.Continuation) async {
        server.whenClosed { requester.yield() }
        for await _ in requests { return }
    }

    /// Drains: `/ready` turns 503, the listener closes, requests being answered get up to
    /// `grace` to finish; then the proxy and the admin port stop.
    public func stop(grace: Duration = .zero) async {
        state.drain()
        await server.stop(grace: grace)
        await server.served.accessLog?.stop()
        await admin.stop()
    }
}
