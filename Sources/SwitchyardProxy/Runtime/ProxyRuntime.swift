import Logging
import SwitchyardCore

/// A running Switchyard: the admin port, up first so `/live` answers while the config loads,
/// and the proxy serving the resolved table. `/ready` turns 200 once the listener is bound.
public final class ProxyRuntime: Sendable {
    /// The admin server.
    public let admin: AdminServer
    /// The proxy.
    public let server: ProxyServer

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
        let state = AdminState(logLevel: logLevel)
        let adminAddress = adminAddress ?? config.admin
        let admin: AdminServer
        do {
            admin = try await AdminServer.start(address: adminAddress, state: state, logger: logger)
        } catch {
            throw .admin(adminAddress, error)
        }
        do {
            let table = try RoutingTable(config: config, pluginDirectory: pluginDirectory, logger: logger)
            let metrics = ProxyMetrics(table: table)
            let server: ProxyServer
            do {
                server = try await ProxyServer.start(table: table, metrics: metrics, threads: threads, logger: logger)
            } catch {
                throw StartError.listen(config.listen, error)
            }
            state.activate(table: table, metrics: metrics)
            return ProxyRuntime(admin: admin, server: server)
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

    private init(admin: AdminServer, server: ProxyServer) {
        self.admin = admin
        self.server = server
    }

    /// Waits for the first stop request (a signal) on `requests`, or until the listener
    /// closes by itself (`requester` is then told, so the wait ends either way).
    public func stopRequested(_ requests: AsyncStream<Void>, requester: AsyncStream<Void>.Continuation) async {
        server.whenClosed { requester.yield() }
        for await _ in requests { return }
    }

    /// Stops the proxy, then the admin port.
    public func stop() async {
        try? await server.stop()
        await admin.stop()
    }
}
