import ArgumentParser
import Dispatch
import Logging
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

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: SWITCHYARD_LOG or info).")
    var logLevel: String?

    var pluginDirectory: String { pluginDir ?? executableDirectory() }

    /// Reads and resolves the config, or exits with the error naming its path.
    func loadTable(logger: Logger) throws -> RoutingTable {
        let text: String
        do {
            text = try readFile(config)
        } catch {
            printError("switchyard: \(config): \(error)")
            throw ExitCode.failure
        }
        do {
            let parsed = try ProxyConfig(yaml: text)
            return try RoutingTable(config: parsed, pluginDirectory: pluginDirectory, logger: logger)
        } catch {
            printError("switchyard: \(config): \(error)")
            throw ExitCode.failure
        }
    }

    func makeLogger() throws -> Logger {
        let text = logLevel ?? getenv("SWITCHYARD_LOG").map { String(cString: $0) } ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            printError("switchyard: --log-level: '\(text)' is not one of trace, debug, info, notice, warning, error, critical")
            throw ExitCode.validationFailure
        }
        var logger = Logger(label: "switchyard")
        logger.logLevel = level
        return logger
    }
}

/// `switchyard run`: serve traffic.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the proxy with a config.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Event-loop threads (default: one per core).")
    var threads: Int?

    func run() async throws {
        let logger = try options.makeLogger()
        // Watch for signals before anything starts, so an early SIGTERM is not lost.
        let (stopRequests, requestStop) = AsyncStream<Void>.makeStream()
        let watch = SignalWatch([SIGTERM, SIGINT]) { requestStop.yield() }
        defer { watch.cancel() }
        let table = try options.loadTable(logger: logger)
        let server = try await ProxyServer.start(table: table, threads: threads ?? ProxyServer.defaultThreadCount, logger: logger)
        Task {
            for await _ in stopRequests {
                logger.info("stopping")
                try? await server.stop()
                break
            }
        }
        try await server.waitUntilClosed()
    }
}

/// `switchyard check`: validate a config and print the resolved table.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a config: load plugins, resolve metadata, print the table.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let table = try options.loadTable(logger: try options.makeLogger())
        print(table.summary)
    }
}

/// Runs `action` on the first of `signals`.
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
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FileError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
