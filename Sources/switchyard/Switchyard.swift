import ArgumentParser

/// The `switchyard` command.
@main
struct Switchyard: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An outbound HTTP/1.1, HTTP/2 and gRPC proxy with plugin-defined policy.",
        subcommands: [Plugins.self]
    )
}
