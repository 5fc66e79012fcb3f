import SwitchyardABI
import SwitchyardCore

/// One configured resolver: an instance a plugin created, shared by every thread (the ABI
/// requires resolvers to be thread-safe). Destroyed when the last reference goes.
public final class ResolverInstance: @unchecked Sendable {
    /// What it is an instance of.
    public let definition: ResolverDefinition
    private let instance: UnsafeMutableRawPointer

    init(definition: ResolverDefinition, instance: UnsafeMutableRawPointer) {
        self.definition = definition
        self.instance = instance
    }

    deinit {
        definition.destroy(instance)
    }

    /// The metadata of a service authority, or nil when the resolver declines (or faults).
    public func resolve(service authority: Authority) -> Meta? {
        definition.resolve(instance, service: authority, text: authority.description)
    }

    /// The metadata of an endpoint, or nil when the resolver declines (or faults).
    public func resolve(endpoint address: Authority, labels: [(key: String, value: String)]) -> Meta? {
        definition.resolve(instance, endpoint: address, labels: labels)
    }
}
