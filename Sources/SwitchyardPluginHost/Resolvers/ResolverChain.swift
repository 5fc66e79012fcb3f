import SwitchyardCore

/// An ordered list of resolvers: the first that answers wins (DESIGN.md §4). Runs when config
/// loads or endpoints change, never per request.
public struct ResolverChain: Sendable {
    /// Which kind of thing a chain resolves.
    public enum Kind: String, Sendable {
        /// Parents and backends, by authority.
        case services
        /// Endpoints, by address and labels.
        case endpoints
    }

    /// The answer of a chain, and who gave it.
    public struct Resolution: Hashable, Sendable {
        /// The metadata.
        public let meta: Meta
        /// The resolver that answered.
        public let resolver: String

        /// Creates a resolution.
        public init(meta: Meta, resolver: String) {
            self.meta = meta
            self.resolver = resolver
        }
    }

    /// The kind of thing it resolves.
    public let kind: Kind
    /// Its resolvers, in order.
    public let resolvers: [ResolverInstance]

    /// Builds a chain of `names`, each instance made from its config (default `{}`).
    /// - Throws: ``ResolverChainError`` when a name is unknown or does not resolve `kind`, or
    ///   ``PluginError`` when a resolver refuses its config.
    public init(
        _ kind: Kind,
        names: [String],
        registry: PluginRegistry,
        configs: [String: String] = [:]
    ) throws {
        self.kind = kind
        self.resolvers = try names.enumerated().map { index, name in
            guard let definition = registry.resolver(named: name) else {
                throw ResolverChainError(
                    index: index, kind: kind,
                    message: "no loaded plugin exports a resolver named '\(name)' (known: \(registry.resolverNames.joined(separator: ", ")))")
            }
            let fits = kind == .services ? definition.resolvesServices : definition.resolvesEndpoints
            guard fits else {
                throw ResolverChainError(index: index, kind: kind, message: "resolver '\(name)' does not resolve \(kind.rawValue)")
            }
            do {
                return try definition.makeInstance(configJSON: configs[name] ?? "{}")
            } catch {
                throw ResolverChainError(index: index, kind: kind, message: "config: \(error)")
            }
        }
    }

    /// The first answer for a service authority, or nil when every resolver declines.
    public func resolve(service authority: Authority) -> Resolution? {
        for resolver in resolvers {
            if let meta = resolver.resolve(service: authority) {
                return Resolution(meta: meta, resolver: resolver.definition.name)
            }
        }
        return nil
    }

    /// The first answer for an endpoint, or nil when every resolver declines.
    public func resolve(endpoint address: Authority, labels: [(key: String, value: String)]) -> Resolution? {
        for resolver in resolvers {
            if let meta = resolver.resolve(endpoint: address, labels: labels) {
                return Resolution(meta: meta, resolver: resolver.definition.name)
            }
        }
        return nil
    }
}

/// A chain that cannot be built: which entry, and why.
public struct ResolverChainError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Index of the entry in the chain.
    public let index: Int
    /// The chain's kind.
    public let kind: ResolverChain.Kind
    /// What is wrong.
    public let message: String

    /// Creates an error about entry `index` of a `kind` chain.
    public init(index: Int, kind: ResolverChain.Kind, message: String) {
        self.index = index
        self.kind = kind
        self.message = message
    }

    /// `resolvers.services[1]: message`.
    public var description: String { "resolvers.\(kind.rawValue)[\(index)]: \(message)" }
}
