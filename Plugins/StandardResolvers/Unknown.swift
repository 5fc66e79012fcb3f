import SwitchyardPluginKit

/// `unknown`: the end of every default chain. Always answers `Default("unknown")`, for
/// services and endpoints alike.
struct Unknown: ServiceResolver, EndpointResolver {
    static let name = "unknown"
    static let summary = "Default(unknown) for anything: the fallback that ends a chain"

    init(config: PluginConfig) {}

    func resolve(service query: ServiceQuery) -> Meta? { .default(name: "unknown") }

    func resolve(endpoint query: EndpointQuery) -> Meta? { .default(name: "unknown") }
}
