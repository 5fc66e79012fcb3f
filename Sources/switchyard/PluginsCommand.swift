#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import SwitchyardPluginHost

/// `switchyard plugins ...`: look at plugin files.
struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with plugin files.",
        subcommands: [Inspect.self, PluginTest.self, CFlags.self]
    )

    /// `switchyard plugins inspect PATH...`
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load plugin files and print their ABI version, name, resolvers and balancers."
        )

        @Argument(help: "Plugin files (.so).")
        var paths: [String]

        func run() throws {
            let logger = Logger(label: "switchyard.plugins")
            var failed = false
            for (index, path) in paths.enumerated() {
                if index > 0 { print() }
                do {
                    print(describe(try PluginLoader.load(path, logger: logger)))
                } catch {
                    printError("switchyard: \(error)")
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }

        private func describe(_ plugin: LoadedPlugin) -> String {
            var lines = [
                plugin.file,
                "  plugin:    \(plugin.name) \(plugin.version)",
                "  abi:       \(plugin.abiMajor).\(plugin.abiMinor)",
            ]
            lines.append("  resolvers:\(plugin.resolvers.isEmpty ? " (none)" : "")")
            let width = (plugin.resolvers.map(\.name.count) + plugin.balancers.map(\.name.count) + plugin.discoveries.map(\.name.count)).max() ?? 0
            for resolver in plugin.resolvers {
                let kinds = [resolver.resolvesServices ? "services" : nil, resolver.resolvesEndpoints ? "endpoints" : nil]
                    .compactMap { $0 }.joined(separator: ", ")
                lines.append("    \(pad(resolver.name, width))  [\(kinds)] \(resolver.summary)")
            }
            lines.append("  balancers:\(plugin.balancers.isEmpty ? " (none)" : "")")
            for balancer in plugin.balancers {
                lines.append("    \(pad(balancer.name, width))  \(balancer.observes ? "[observes outcomes] " : "")\(balancer.summary)")
            }
            lines.append("  discoveries:\(plugin.discoveries.isEmpty ? " (none)" : "")")
            for discovery in plugin.discoveries {
                lines.append("    \(pad(discovery.name, width))  \(discovery.summary)")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// `switchyard plugins cflags`: the compiler flags that find switchyard_plugin.h.
    struct CFlags: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cflags",
            abstract: "Print the compiler flags for building a C plugin: cc $(switchyard plugins cflags) -shared -fPIC ...",
            discussion: """
                Looks for switchyard_plugin.h where scripts/install puts it (PREFIX/include/switchyard, \
                beside PREFIX/lib/switchyard/switchyard), then in the source tree this binary was built from.
                """
        )

        func run() throws {
            let executable = executableDirectory()
            let sourceTree = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
            let candidates = [
                "\(executable)/../../include/switchyard",
                "\(executable)/../include/switchyard",
                "\(sourceTree)/Sources/CSwitchyardPlugin/include",
            ]
            guard let found = candidates.first(where: { access("\($0)/switchyard_plugin.h", R_OK) == 0 }),
                let directory = PluginFile.resolved(found)
            else {
                printError("switchyard: switchyard_plugin.h is in none of: \(candidates.joined(separator: ", ")); install it with scripts/install")
                throw ExitCode.failure
            }
            print("-I\(directory)")
        }
    }
}

/// `text` padded with spaces to `width` characters.
func pad(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
}

/// Writes a line to standard error.
func printError(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}
