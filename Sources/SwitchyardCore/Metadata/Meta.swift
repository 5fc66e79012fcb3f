/// What a service, route, backend or endpoint *is*: the metadata every metric label, log
/// context and error message is built from (DESIGN.md §4).
///
/// A `Meta` is either a `Default(name)`, for things no resolver could place, or a Kubernetes-
/// style `Resource`. Two metas are equal only when every field is equal, namespace and port
/// included.
public enum Meta: Hashable, Sendable {
    /// A named default, e.g. `Default("unknown")`, `Default("http")`, `Default("fail")`.
    case `default`(name: String)
    /// A resource, e.g. `Resource(core, Service, prod, web, port 80)`.
    case resource(Resource)

    /// The fields of a resource.
    public struct Resource: Hashable, Sendable {
        /// API group, e.g. `core` or `policy.linkerd.io`.
        public var group: String
        /// Kind, e.g. `Service`, `Pod`, `HTTPRoute`.
        public var kind: String
        /// Namespace, e.g. `prod`.
        public var namespace: String
        /// Name of the resource.
        public var name: String
        /// Section name (such as a named port), if any.
        public var section: String?
        /// Port, if any.
        public var port: UInt16?

        /// Creates a resource meta's fields.
        public init(
            group: String,
            kind: String,
            namespace: String,
            name: String,
            section: String? = nil,
            port: UInt16? = nil
        ) {
            self.group = group
            self.kind = kind
            self.namespace = namespace
            self.name = name
            self.section = section
            self.port = port
        }
    }

    /// Shorthand for `.resource(Resource(...))`.
    public static func resource(
        group: String,
        kind: String,
        namespace: String,
        name: String,
        section: String? = nil,
        port: UInt16? = nil
    ) -> Meta {
        .resource(Resource(group: group, kind: kind, namespace: namespace, name: name, section: section, port: port))
    }

    /// API group; `""` for a Default.
    public var group: String {
        switch self {
        case .default: ""
        case .resource(let r): r.group
        }
    }

    /// Kind; `"default"` for a Default.
    public var kind: String {
        switch self {
        case .default: "default"
        case .resource(let r): r.kind
        }
    }

    /// Namespace; `""` for a Default.
    public var namespace: String {
        switch self {
        case .default: ""
        case .resource(let r): r.namespace
        }
    }

    /// Name of the resource or the default.
    public var name: String {
        switch self {
        case .default(let name): name
        case .resource(let r): r.name
        }
    }

    /// Section name; `""` when absent and for a Default (the metric label value).
    public var section: String {
        switch self {
        case .default: ""
        case .resource(let r): r.section ?? ""
        }
    }

    /// Port; `nil` when absent and for a Default.
    public var port: UInt16? {
        switch self {
        case .default: nil
        case .resource(let r): r.port
        }
    }

    /// How an error from this thing's stack names it (DESIGN.md §7): `Service web.prod` for a
    /// resource (kind, then name and namespace), `default unknown` for a Default.
    public var errorSubject: String {
        switch self {
        case .default(let name): "default \(name)"
        case .resource(let r): "\(r.kind) \(r.name).\(r.namespace)"
        }
    }

    /// Renders an error raised inside this thing's stack: `Service web.prod: service in fail-fast`.
    public func describe(error message: String) -> String {
        "\(errorSubject): \(message)"
    }
}

extension Meta: CustomStringConvertible {
    /// A one-line form for tables and logs: `Default(unknown)` or
    /// `Resource(core/Service prod/web port=80)` (section shown as `#section`).
    public var description: String {
        switch self {
        case .default(let name):
            return "Default(\(name))"
        case .resource(let r):
            var text = "Resource(\(r.group)/\(r.kind) \(r.namespace)/\(r.name)"
            if let section = r.section { text += "#\(section)" }
            if let port = r.port { text += " port=\(port)" }
            return text + ")"
        }
    }
}
