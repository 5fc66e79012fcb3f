import ArgumentParser
import Dispatch
import Logging
import SwitchyardCore
import SwitchyardProxy

#if canImport(Glibc)
import Glibc
#endif

/// Options shared by the commands that read a config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The config file (YAML).")
    var config: String

    @Option(name: .long, help: "Folder the config's plugin files are relative to (default: the switchyard binary's folder).")
    var pluginDir: String?

    @OptionGroup var logging: LogOptions

    var pluginDirectory: String { pluginDir ?? executableDirectory() }

    /// Reads and parses the config, or exits with the error naming its path.
    func loadConfig() throws -> ProxyConfig {
        do {
            return try ProxyConfig(yaml: try readFile(config))
        } catch {
            printError("switchyard: \(config): \(error)")
            throw ExitCode.failure
        }
    }

    /// Reads and resolves the config, or exits with the error naming its path.
    func loadTable(logger: Logger) throws -> RoutingTable {
        do {
            return try RoutingTable(config: try loadConfig(), pluginDirectory: pluginDirectory, logger: logger)
        } catch let error as ConfigError {
            printError("switchyard: \(config): \(error)")
            throw ExitCode.failure
        }
    }
}

/// Logging options: the level (changeable later on the admin port) and the line format.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: SWITCHYARD_LOG or info).")
    var logLevel: String?

    @Option(name: .long, help: "Log line format: plain or json.")
    var logFormat: LogFormat = .plain

    /// Installs the proxy's log handler for the whole process; returns the root logger and
    /// the level control the admin port changes.
    func bootstrap() throws -> (Logger, LogLevelControl) {
        let text = logLevel ?? getenv("SWITCHYARD_LOG").map { String(cString: $0) } ?? "info"
        guard let level = LogLevelControl.parse(text) else {
            printError("switchyard: --log-level: '\(text)' is not one of trace, debug, info, notice, warning, error, critical")
            throw ExitCode.validationFailure
        }
        let control = LogLevelControl(level)
        let format = logFormat
        LoggingSystem.bootstrap { label in SwitchyardLogHandler(label: label, format: format, control: control) }
        return (Logger(label: "switchyard"), control)
    }
}

extension LogFormat: ExpressibleByArgument {}

/// `switchyard run`: serve traffic.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the proxy with a config.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Event-loop threads (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "Admin address, overriding the config's admin (such as 127.0.0.1:0 for any free port).")
    var admin: String?

    @Option(name: .long, help: "On SIGTERM, how long requests in flight may take to finish (such as 30s, 500ms).")
    var drainTimeout: String = "30s"

    @Flag(
        name: .long,
        help: "Reload when the config file changes (checked every second, symlink swaps included), as SIGHUP does.")
    var watchConfig = false

    func run() async throws {
        let (logger, level) = try options.logging.bootstrap()
        guard let grace = DurationText.parse(drainTimeout) else {
            printError("switchyard: --drain-timeout: '\(drainTimeout)' is not a duration such as 30s or 500ms")
            throw ExitCode.validationFailure
        }
        var adminAddress: Authority?
        if let admin {
            do {
                adminAddress = try Authority(parsing: admin, allowsPortZero: true)
            } catch {
                printError("switchyard: --admin: \(error)")
                throw ExitCode.validationFailure
            }
        }
        // Watch for signals before anything starts, so an early SIGTERM or SIGHUP is not lost.
        let (stopRequests, requestStop) = AsyncStream<Void>.makeStream()
        let watch = SignalWatch([SIGTERM, SIGINT]) { requestStop.yield() }
        defer { watch.cancel() }
        let (reloadRequests, requestReload) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let reloadWatch = SignalWatch([SIGHUP]) { requestReload.yield() }
        defer { reloadWatch.cancel() }
        let (reopenRequests, requestReopen) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let reopenWatch = SignalWatch([SIGUSR1]) { requestReopen.yield() }
        defer { reopenWatch.cancel() }
        let configWatch = ConfigFileWatch(path: options.config)
        let initialVersion = watchConfig ? configWatch.fingerprint() : nil
        let config = try options.loadConfig()
        let runtime: ProxyRuntime
        do {
            runtime = try await ProxyRuntime.start(
                config: config, pluginDirectory: options.pluginDirectory, adminAddress: adminAddress,
                threads: threads ?? ProxyServer.defaultThreadCount, logLevel: level, logger: logger)
        } catch {
            printError("switchyard: \(options.config): \(error)")
            throw ExitCode.failure
        }
        // SIGHUP reloads the config file, one reload at a time.
        let reloads = Task {
            for await _ in reloadRequests {
                do {
                    let config: ProxyConfig
                    do {
                        config = try ProxyConfig(yaml: try readFile(options.config))
                    } catch {
                        runtime.reloadRefused("\(error)")  // reload(_:) records its own refusals
                        throw error
                    }
                    try await runtime.reload(config)
                    logger.info("config reloaded from \(options.config)")
                } catch {
                    logger.error("config reload refused, the running config stays: \(options.config): \(error)")
                }
            }
        }
        defer { reloads.cancel() }
        // SIGUSR1 reopens the access log's file (log rotation).
        let reopens = Task {
            for await _ in reopenRequests {
                runtime.reopenAccessLog()
                logger.info("access log reopened")
            }
        }
        defer { reopens.cancel() }
        // --watch-config: a changed file is a reload request, like SIGHUP.
        let watching = Task { [watchConfig, configPath = options.config] in
            guard watchConfig else { return }
            await configWatch.run(from: initialVersion, every: .seconds(1)) {
                logger.info("config file changed: reloading \(configPath)")
                requestReload.yield()
            }
        }
        defer { watching.cancel() }
        // Stop here, not in the signal's task: the process must not exit while it stops.
        await runtime.stopRequested(stopRequests, requester: requestStop)
        logger.info("stopping: draining requests in flight (up to \(DurationText.format(grace)))")
        // A reload in progress (warming a discovery, say) ends first: the stop then stops what
        // it installed.
        reloads.cancel()
        await reloads.value
        await runtime.stop(grace: grace)
    }

}

/// `switchyard check`: validate a config and print the resolved table.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a config: load plugins, resolve metadata, print the table.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let table = try options.loadTable(logger: try options.logging.bootstrap().0)
        print(table.summary)
    }
}

/// Runs `action` each time one of `signals` arrives (their default actions are off while it
/// watches).
final class SignalWatch {
    private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32], action: @escaping @Sendable () -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// The folder of the running `switchyard` binary (plugins are looked for there).
func executableDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "." }
    let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
}

/// Reads a whole file as UTF-8.
func readFile(_ path: String) throws -> String {
    guard let file = fopen(path, "rb") else { throw FileError(message: String(cString: strerror(errno))) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[..<n]
        guard bytes.count <= ProxyConfig.maximumFileSize else {
            throw FileError(message: "the config is larger than \(ProxyConfig.maximumFileSize) bytes")
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FileError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
