import SwitchyardABI

/// A source of one backend's endpoints (ABI 1.2): DNS, a file, a registry. The host makes one
/// instance per backend whose config names it, calls ``start(_:)`` once, and ``stop()`` when
/// the backend goes away.
///
/// ```swift
/// final class StaticList: Discovery {
///     static let name = "static-list"
///     static let summary = "the addresses in its config"
///     let addresses: [String]
///     init(config: PluginConfig, target: DiscoveryTarget) throws(PluginConfigError) {
///         addresses = try config.strings("addresses")
///     }
///     func start(_ sink: DiscoverySink) {
///         sink.publish(.reset(addresses.map { DiscoveryEndpoint(address: $0) }))
///     }
///     func stop() {}
/// }
/// ```
public protocol Discovery: AnyObject, Sendable {
    /// The name config uses, e.g. `dns`.
    static var name: String { get }
    /// One line saying where it looks.
    static var summary: String { get }
    /// Checks the config and keeps what it needs: no I/O, no thread (`switchyard check` makes
    /// an instance and drops it). Throw to refuse the config; the error names the key.
    init(config: PluginConfig, target: DiscoveryTarget) throws(PluginConfigError)
    /// Starts watching the source on a thread of its own and publishing to `sink`. Returns at
    /// once; a source it cannot reach is an `.error` update, not a failed start.
    func start(_ sink: DiscoverySink)
    /// Stops the thread: returns once it will never publish again. Bound every wait of the
    /// thread so this takes a second or two at most.
    func stop()
}

/// The backend a discovery instance feeds.
public struct DiscoveryTarget: Hashable, Sendable {
    /// The backend's authority as configured, e.g. `web.prod.svc.cluster.local:80`.
    public var authority: String
    /// Its host part.
    public var host: String
    /// Its port: the port of addresses a source gives none for (DNS A and AAAA records).
    public var port: UInt16
    /// A random seed for this instance.
    public var seed: UInt64

    /// Creates a target.
    public init(authority: String, host: String, port: UInt16, seed: UInt64 = 0) {
        self.authority = authority
        self.host = host
        self.port = port
        self.seed = seed
    }
}

/// One endpoint a discovery reports.
public struct DiscoveryEndpoint: Hashable, Sendable {
    /// An IP literal and a port: `10.0.0.1:8080` or `[fd00::1]:8080`.
    public var address: String
    /// Relative weight, 1...1,000,000.
    public var weight: Int
    /// Labels the endpoint resolver chain sees, in order, keys unique.
    public var labels: [(key: String, value: String)]

    /// Creates an endpoint.
    public init(address: String, weight: Int = 1, labels: [(key: String, value: String)] = []) {
        self.address = address
        self.weight = weight
        self.labels = labels
    }

    public static func == (lhs: DiscoveryEndpoint, rhs: DiscoveryEndpoint) -> Bool {
        lhs.address == rhs.address && lhs.weight == rhs.weight && lhs.labels.elementsEqual(rhs.labels) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(address)
        hasher.combine(weight)
        for (key, value) in labels {
            hasher.combine(key)
            hasher.combine(value)
        }
    }
}

/// One change a discovery publishes (`sy_discovery_event`).
public struct DiscoveryUpdate: Sendable {
    /// What it says.
    public enum Kind: Int32, Sendable {
        /// The whole set (possibly empty).
        case reset = 0
        /// Endpoints to add or replace by address.
        case add = 1
        /// Endpoints to remove, by address.
        case remove = 2
        /// The name does not exist: the set empties.
        case notFound = 3
        /// A heartbeat: the source answered, nothing changed.
        case current = 4
        /// The source failed; the host keeps the set.
        case error = 5
    }

    /// What it says.
    public var kind: Kind
    /// The source's version of the set (0: none).
    public var generation: UInt64
    /// The endpoints (reset, add, remove).
    public var endpoints: [DiscoveryEndpoint]
    /// Labels every endpoint gets, under its own.
    public var labels: [(key: String, value: String)]
    /// Why (error), or a note.
    public var message: String?

    /// Creates an update.
    public init(
        kind: Kind, generation: UInt64 = 0, endpoints: [DiscoveryEndpoint] = [], labels: [(key: String, value: String)] = [], message: String? = nil
    ) {
        self.kind = kind
        self.generation = generation
        self.endpoints = endpoints
        self.labels = labels
        self.message = message
    }

    /// The whole set.
    public static func reset(_ endpoints: [DiscoveryEndpoint], generation: UInt64 = 0, labels: [(key: String, value: String)] = []) -> Self {
        DiscoveryUpdate(kind: .reset, generation: generation, endpoints: endpoints, labels: labels)
    }

    /// The source failed: `message` says how.
    public static func error(_ message: String, generation: UInt64 = 0) -> Self {
        DiscoveryUpdate(kind: .error, generation: generation, message: message)
    }
}

/// Where a discovery instance publishes (`sy_discovery_sink *`). Usable from any thread
/// between ``Discovery/start(_:)`` and the end of ``Discovery/stop()``.
public struct DiscoverySink: @unchecked Sendable {
    // The host's handle: opaque, thread-safe on the host's side.
    private let handle: OpaquePointer?
    private let host: UnsafePointer<sy_host_services>?

    init(handle: OpaquePointer?, host: UnsafePointer<sy_host_services>?) {
        self.handle = handle
        self.host = host
    }

    /// Publishes `update`; false when the host refused it (a malformed update: the host logs
    /// why and keeps the backend's last good set) or is older than ABI 1.2. A refused update is
    /// followed by an error update saying so, so the backend's state shows the source is not
    /// being followed. A message is cut to the host's limit and its control characters become
    /// spaces.
    @discardableResult
    public func publish(_ update: DiscoveryUpdate) -> Bool {
        guard send(update) else {
            if update.kind != .error { _ = send(.error("the host refused a \(update.kind) update from this discovery (its log says why)")) }
            return false
        }
        return true
    }

    /// The message as the host takes it: at most SY_MESSAGE_MAX bytes, no control characters.
    static func clean(_ message: String?) -> String? {
        guard let message else { return nil }
        var text = String(String.UnicodeScalarView(message.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        while text.utf8.count > Int(SY_MESSAGE_MAX) { text.removeLast() }
        return text
    }

    private func send(_ update: DiscoveryUpdate) -> Bool {
        guard let host, hostHasDiscoveryPublish(host), let publish = host.pointee.discovery_publish else { return false }
        var strings: [String?] = [Self.clean(update.message)]
        for (key, value) in update.labels { strings += [key, value] }
        for endpoint in update.endpoints {
            strings.append(endpoint.address)
            for (key, value) in endpoint.labels { strings += [key, value] }
        }
        return withSyStrs(strings) { s in
            var next = 1
            func takeLabels(_ count: Int) -> [sy_label] {
                defer { next += 2 * count }
                return (0..<count).map { sy_label(key: s[next + 2 * $0], value: s[next + 2 * $0 + 1]) }
            }
            let setLabels = takeLabels(update.labels.count)
            var addresses: [sy_str] = []
            var endpointLabels: [[sy_label]] = []
            for endpoint in update.endpoints {
                addresses.append(s[next])
                next += 1
                endpointLabels.append(takeLabels(endpoint.labels.count))
            }
            let flat = endpointLabels.joined().map { $0 }
            return flat.withUnsafeBufferPointer { labelBuffer in
                var offset = 0
                let endpoints = update.endpoints.indices.map { i in
                    defer { offset += endpointLabels[i].count }
                    return sy_discovered_endpoint(
                        struct_size: UInt32(MemoryLayout<sy_discovered_endpoint>.size),
                        weight: UInt32(clamping: max(0, update.endpoints[i].weight)), address: addresses[i],
                        labels: endpointLabels[i].isEmpty ? nil : labelBuffer.baseAddress.map { $0 + offset },
                        label_count: UInt32(endpointLabels[i].count), label_size: UInt32(MemoryLayout<sy_label>.stride), flags: 0, reserved: 0,
                        meta: nil)
                }
                return setLabels.withUnsafeBufferPointer { setBuffer in
                    endpoints.withUnsafeBufferPointer { endpointBuffer in
                        var event = sy_discovery_event(
                            struct_size: UInt32(MemoryLayout<sy_discovery_event>.size), kind: update.kind.rawValue, generation: update.generation,
                            endpoints: endpoints.isEmpty ? nil : endpointBuffer.baseAddress, endpoint_count: UInt32(endpoints.count),
                            endpoint_size: UInt32(MemoryLayout<sy_discovered_endpoint>.stride),
                            set_labels: setLabels.isEmpty ? nil : setBuffer.baseAddress, set_label_count: UInt32(setLabels.count),
                            set_label_size: UInt32(MemoryLayout<sy_label>.stride), message: s[0])
                        return publish(handle, &event) == SY_OK
                    }
                }
            }
        }
    }
}

/// Whether the host's services table holds `discovery_publish` (a host of ABI 1.2 or later).
private func hostHasDiscoveryPublish(_ host: UnsafePointer<sy_host_services>) -> Bool {
    let end = (MemoryLayout<sy_host_services>.offset(of: \.discovery_publish) ?? Int.max - 8) + MemoryLayout<UnsafeRawPointer?>.size
    return Int(host.pointee.struct_size) >= end
}
