/// Why a plugin file could not be loaded, or an implementation could not be used. Every
/// message is one line that names the file.
public struct PluginError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The plugin file the problem is in (as given, or as resolved when loaded).
    public let file: String
    /// What is wrong.
    public let problem: Problem

    /// The kinds of problem.
    public enum Problem: Hashable, Sendable {
        /// No file at the path.
        case notFound
        /// dlopen refused the file (its message is kept).
        case notLoadable(String)
        /// The file loads but does not export the entry symbol.
        case noEntrySymbol
        /// The entry function returned NULL.
        case noDescriptor
        /// The plugin speaks another ABI major version.
        case wrongMajor(plugin: Int, host: Int)
        /// A struct the plugin filled is smaller than the fields it must have.
        case structTooSmall(structName: String, size: Int, required: Int)
        /// A name or string in the descriptor is malformed.
        case malformed(String)
        /// A required hook of an implementation is NULL.
        case missingHook(kind: ImplementationKind, name: String, hook: String)
        /// Another loaded plugin has the same name.
        case duplicatePlugin(name: String, loadedFrom: String)
        /// Another implementation of the same kind has the same name.
        case duplicateImplementation(kind: ImplementationKind, name: String, plugin: String, loadedFrom: String)
        /// An implementation refused the config block it was created from.
        case configRefused(kind: ImplementationKind, name: String, plugin: String, message: String)
        /// A relative plugin name leads out of the plugin folder (the folder).
        case outsidePluginDirectory(String)
        /// The file, or the folder holding it (the one named), is writable by everyone.
        case insecurePermissions(String)
        /// The file, or the folder holding it (the one named), belongs to another user (not
        /// root, not this process's).
        case untrustedOwner(String, owner: Int)
    }

    /// Creates an error about `file`.
    public init(file: String, _ problem: Problem) {
        self.file = file
        self.problem = problem
    }

    /// `FILE: what is wrong`.
    public var description: String {
        switch problem {
        case .notFound:
            "\(file): plugin file not found"
        case .notLoadable(let reason):
            "\(file): not a loadable shared object (\(reason))"
        case .noEntrySymbol:
            "\(file): not a Switchyard plugin (it does not export \(entrySymbol))"
        case .noDescriptor:
            "\(file): the plugin's \(entrySymbol) returned no descriptor (see its log lines for why)"
        case .wrongMajor(let plugin, let host):
            "\(file): plugin built for Switchyard plugin ABI \(plugin).x, but this switchyard speaks ABI \(host).x; "
                + "rebuild the plugin against switchyard_plugin.h of ABI \(host).\(hostABIMinor)"
        case .structTooSmall(let structName, let size, let required):
            "\(file): \(structName).struct_size is \(size) bytes, smaller than the \(required) bytes ABI \(hostABIMajor).0 requires"
        case .malformed(let what):
            "\(file): malformed plugin descriptor: \(what)"
        case .missingHook(let kind, let name, let hook):
            "\(file): \(kind) '\(name)' does not provide its required '\(hook)' hook"
        case .duplicatePlugin(let name, let loadedFrom):
            "\(file): a plugin named '\(name)' is already loaded from \(loadedFrom)"
        case .duplicateImplementation(let kind, let name, let plugin, let loadedFrom):
            "\(file): \(kind) '\(name)' is already provided by plugin '\(plugin)' (\(loadedFrom))"
        case .configRefused(let kind, let name, let plugin, let message):
            "\(message) (refused by \(kind) '\(name)' of plugin '\(plugin)', \(file))"
        case .outsidePluginDirectory(let directory):
            "\(file): a plugin name must stay inside the plugin folder \(directory); write an absolute path to load a file elsewhere"
        case .insecurePermissions(let path):
            "\(file): refused: \(path) is writable by everyone, so anyone could replace the plugin (chmod o-w \(path))"
        case .untrustedOwner(let path, let owner):
            "\(file): refused: \(path) belongs to user \(owner), neither root nor the user running switchyard, who could replace the plugin"
        }
    }
}

/// Resolver, balancer or discovery.
public enum ImplementationKind: String, Hashable, Sendable, CustomStringConvertible {
    /// A metadata resolver.
    case resolver
    /// A load balancer.
    case balancer
    /// An endpoint discovery (ABI 1.2).
    case discovery

    /// `resolver`, `balancer` or `discovery`.
    public var description: String { rawValue }
}
