/// The distinct reference types of the policy model. Each wraps a `Meta`; keeping them apart
/// lets the compiler catch a backend's metadata used where a parent's belongs.
public protocol MetaRef: Hashable, Sendable, CustomStringConvertible {
    /// The wrapped metadata.
    var meta: Meta { get }
    /// Wraps metadata.
    init(_ meta: Meta)
}

extension MetaRef {
    /// The metadata's one-line form.
    public var description: String { meta.description }
}

/// A parent: the service a request is addressed to (chosen by authority).
public struct ParentRef: MetaRef {
    /// The parent's metadata.
    public let meta: Meta
    /// Wraps metadata.
    public init(_ meta: Meta) { self.meta = meta }
}

/// A route of a parent (an HTTPRoute or GRPCRoute, or a default route).
public struct RouteRef: MetaRef {
    /// The route's metadata.
    public let meta: Meta
    /// Wraps metadata.
    public init(_ meta: Meta) { self.meta = meta }
}

/// A backend a route distributes to.
public struct BackendRef: MetaRef {
    /// The backend's metadata.
    public let meta: Meta
    /// Wraps metadata.
    public init(_ meta: Meta) { self.meta = meta }
}

/// One endpoint (address) of a backend.
public struct EndpointRef: MetaRef {
    /// The endpoint's metadata.
    public let meta: Meta
    /// Wraps metadata.
    public init(_ meta: Meta) { self.meta = meta }
}
