/// A config file the proxy refuses: where (the path of keys and indices) and why.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The path of the node at fault, e.g. `services[0].routes[0].rules[0].backends[1].weight`.
    public let path: String
    /// What is wrong there.
    public let message: String

    /// Creates an error at `path`.
    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message` (just the message at the root).
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
