import Logging
import Synchronization

/// The plugins one configuration uses, and the resolvers, balancers and discoveries they export by name.
///
/// Loading refuses a second plugin with the same name and a second implementation (of the same
/// kind) with the same name, naming both files. Loading the same file twice is a no-op.
public final class PluginRegistry: Sendable {
    private struct State {
        var plugins: [LoadedPlugin] = []
        var resolvers: [String: ResolverDefinition] = [:]
        var balancers: [String: BalancerDefinition] = [:]
        var discoveries: [String: DiscoveryDefinition] = [:]
    }

    private let state = Mutex(State())
    private let logger: Logger

    /// Creates an empty registry whose plugins log through `logger`.
    public init(logger: Logger) {
        self.logger = logger
    }

    /// Loads the plugin at `path` and registers what it exports.
    /// - Throws: ``PluginError`` naming the file and the problem.
    @discardableResult
    public func load(_ path: String) throws(PluginError) -> LoadedPlugin {
        let plugin = try PluginLoader.load(path, logger: logger)
        try state.withLock { state throws(PluginError) in
            if state.plugins.contains(where: { $0 === plugin }) { return }
            if let other = state.plugins.first(where: { $0.name == plugin.name }) {
                throw PluginError(file: plugin.file, .duplicatePlugin(name: plugin.name, loadedFrom: other.file))
            }
            for resolver in plugin.resolvers {
                if let other = state.resolvers[resolver.name] {
                    throw PluginError(
                        file: plugin.file,
                        .duplicateImplementation(kind: .resolver, name: resolver.name, plugin: other.context.name, loadedFrom: other.context.file))
                }
            }
            for balancer in plugin.balancers {
                if let other = state.balancers[balancer.name] {
                    throw PluginError(
                        file: plugin.file,
                        .duplicateImplementation(kind: .balancer, name: balancer.name, plugin: other.context.name, loadedFrom: other.context.file))
                }
            }
            for discovery in plugin.discoveries {
                if let other = state.discoveries[discovery.name] {
                    throw PluginError(
                        file: plugin.file,
                        .duplicateImplementation(kind: .discovery, name: discovery.name, plugin: other.context.name, loadedFrom: other.context.file))
                }
            }
            state.plugins.append(plugin)
            for resolver in plugin.resolvers { state.resolvers[resolver.name] = resolver }
            for balancer in plugin.balancers { state.balancers[balancer.name] = balancer }
            for discovery in plugin.discoveries { state.discoveries[discovery.name] = discovery }
        }
        return plugin
    }

    /// The loaded plugins, in load order.
    public var plugins: [LoadedPlugin] { state.withLock { $0.plugins } }

    /// The resolver called `name`, if a loaded plugin exports one.
    public func resolver(named name: String) -> ResolverDefinition? { state.withLock { $0.resolvers[name] } }

    /// The balancer called `name`, if a loaded plugin exports one.
    public func balancer(named name: String) -> BalancerDefinition? { state.withLock { $0.balancers[name] } }

    /// The discovery called `name`, if a loaded plugin exports one.
    public func discovery(named name: String) -> DiscoveryDefinition? { state.withLock { $0.discoveries[name] } }

    /// Names of every registered discovery, sorted.
    public var discoveryNames: [String] { state.withLock { $0.discoveries.keys.sorted() } }

    /// Names of every registered resolver, sorted.
    public var resolverNames: [String] { state.withLock { $0.resolvers.keys.sorted() } }

    /// Names of every registered balancer, sorted.
    public var balancerNames: [String] { state.withLock { $0.balancers.keys.sorted() } }
}
