import SwitchyardABI

/// A plugin file the host has loaded and checked: its identity and what it exports.
/// Plugins are never unloaded, so neither is this.
public final class LoadedPlugin: Sendable {
    /// The file, as resolved (symlinks followed).
    public let file: String
    /// Which build of the file this is: 1 for the first loaded, one more each time a reload
    /// found the file changed. Every generation stays mapped, so this many are.
    public let generation: Int
    /// The plugin's name from its descriptor, e.g. `standard-balancers`.
    public let name: String
    /// The plugin's version text, e.g. `1.0.0`.
    public let version: String
    /// The ABI major version it was built for.
    public let abiMajor: Int
    /// The ABI minor version it was built for.
    public let abiMinor: Int
    /// The resolvers it exports, in descriptor order.
    public let resolvers: [ResolverDefinition]
    /// The balancers it exports, in descriptor order.
    public let balancers: [BalancerDefinition]
    /// The discoveries it exports, in descriptor order (ABI 1.2; none from an older plugin).
    public let discoveries: [DiscoveryDefinition]
    /// Its host-side context: name and logger.
    public let context: PluginContext

    init(
        file: String, generation: Int, name: String, version: String, abiMajor: Int, abiMinor: Int,
        resolvers: [ResolverDefinition], balancers: [BalancerDefinition], discoveries: [DiscoveryDefinition], context: PluginContext
    ) {
        self.file = file
        self.generation = generation
        self.name = name
        self.version = version
        self.abiMajor = abiMajor
        self.abiMinor = abiMinor
        self.resolvers = resolvers
        self.balancers = balancers
        self.discoveries = discoveries
        self.context = context
    }

    /// How many faults its implementations have made.
    public var faults: Int {
        resolvers.reduce(0) { $0 + $1.faults.count } + balancers.reduce(0) { $0 + $1.faults.count }
            + discoveries.reduce(0) { $0 + $1.faults.count }
    }
}
