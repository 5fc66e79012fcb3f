import ArgumentParser

/// The `switchyard` command.
@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An outbound HTTP/1.1, HTTP/2 and gRPC proxy with plugin-defined policy.",
        subcommands: [Run.self, Check.self, Demo.self, Plugins.self]
    )
}
