import SwitchyardABI
import SwitchyardCore

/// One change a discovery published (`sy_discovery_event`), copied and validated: what the
/// host applies to a backend's endpoint set.
public struct DiscoveryEvent: Hashable, Sendable {
    /// What the event says (`SY_DISCOVERY_*`).
    public enum Kind: Int32, Hashable, Sendable, CustomStringConvertible {
        /// The whole set, replacing the previous one.
        case reset = 0
        /// Endpoints to add, or replace by address.
        case add = 1
        /// Endpoints to remove, by address.
        case remove = 2
        /// The name does not exist: the set empties.
        case notFound = 3
        /// A heartbeat: nothing changed.
        case current = 4
        /// The source failed; the set is kept.
        case error = 5

        /// The metric label and log word: `reset`, `add`, `remove`, `not_found`, `current`, `error`.
        public var description: String {
            switch self {
            case .reset: "reset"
            case .add: "add"
            case .remove: "remove"
            case .notFound: "not_found"
            case .current: "current"
            case .error: "error"
            }
        }
    }

    /// The most endpoints one event, and one backend's set, may hold (`SY_DISCOVERY_ENDPOINTS_MAX`).
    public static let maximumEndpoints = Int(SY_DISCOVERY_ENDPOINTS_MAX)

    /// What the event says.
    public var kind: Kind
    /// The source's version of the set (0: none).
    public var generation: UInt64
    /// The endpoints, with the event's set labels merged under their own.
    public var endpoints: [DiscoveredEndpoint]
    /// Why (ERROR), or a note.
    public var message: String?

    /// Creates an event.
    public init(kind: Kind, generation: UInt64 = 0, endpoints: [DiscoveredEndpoint] = [], message: String? = nil) {
        self.kind = kind
        self.generation = generation
        self.endpoints = endpoints
        self.message = message
    }
}

/// One endpoint a discovery reported (`sy_discovered_endpoint`).
public struct DiscoveredEndpoint: Hashable, Sendable {
    /// Its address: an IP literal and a port.
    public var address: Authority
    /// Relative weight, 1...1,000,000.
    public var weight: Int
    /// Labels for the endpoint resolver chain, keys unique, in the order given.
    public var labels: [Label]
    /// Metadata the discovery gave itself (nil: the endpoint resolver chain answers).
    public var meta: Meta?

    /// A label.
    public struct Label: Hashable, Sendable {
        /// Its key.
        public var key: String
        /// Its value.
        public var value: String

        /// Creates a label.
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// Creates an endpoint.
    public init(address: Authority, weight: Int = 1, labels: [Label] = [], meta: Meta? = nil) {
        self.address = address
        self.weight = weight
        self.labels = labels
        self.meta = meta
    }
}
