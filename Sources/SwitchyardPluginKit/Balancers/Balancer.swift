import CSwitchyardPlugin

/// A load balancer a plugin exports (DESIGN.md §5).
///
/// The host makes one instance per backend per event loop and calls it from that loop only,
/// so an implementation keeps plain mutable state and needs no locks. ``update(_:)`` gives the
/// endpoint set; ``pick(_:)`` runs per request and must not allocate.
public protocol Balancer: AnyObject {
    /// The name config uses, e.g. `round-robin`: `[a-z0-9._-]`, at most 64 bytes.
    static var name: String { get }
    /// One line saying how it picks, shown by `switchyard plugins inspect`.
    static var summary: String { get }
    /// Creates an instance from its config block; throw ``PluginConfigError`` to refuse it.
    /// `setup` carries the instance's seed and the load model the host keeps for it.
    init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError)
    /// Replaces the endpoint set; later picks index into it.
    func update(_ endpoints: [EndpointInfo])
    /// Chooses the index of a ready endpoint for one request, or nil when none can take it.
    func pick(_ request: PickRequest) -> Int?
}

/// What a balancer instance is created with, and what it tells the host back.
public struct BalancerSetup: Sendable {
    /// A seed for this instance's random choices; equal seeds must give equal picks.
    public let seed: UInt64
    /// Index of the event loop the instance serves.
    public let loopIndex: Int
    /// RTT estimate of an endpoint without samples, for the host's peak-EWMA (default 30 ms).
    public var defaultRtt: Duration
    /// Decay time constant of the host's peak-EWMA (default 10 s).
    public var decay: Duration

    /// Creates a setup (the kit does this from the host's parameters; tests may too).
    public init(seed: UInt64, loopIndex: Int = 0, defaultRtt: Duration = .milliseconds(30), decay: Duration = .seconds(10)) {
        self.seed = seed
        self.loopIndex = loopIndex
        self.defaultRtt = defaultRtt
        self.decay = decay
    }
}

/// One endpoint of the set a balancer is updated with.
public struct EndpointInfo: Sendable, Hashable {
    /// The endpoint's address, e.g. `127.0.0.1:18081`: stable across updates.
    public let address: String
    /// Relative weight, ≥ 1.
    public let weight: Int

    /// Creates an endpoint description.
    public init(address: String, weight: Int) {
        self.address = address
        self.weight = weight
    }
}

/// The load of one endpoint at pick time.
public struct EndpointLoad: Sendable, Hashable {
    /// Whether the endpoint may take a request now.
    public let isReady: Bool
    /// Relative weight, ≥ 1.
    public let weight: Int
    /// Requests in flight to it.
    public let inFlight: Int
    /// Peak-EWMA cost: RTT estimate (ns) × (inFlight + 1). Lower is better.
    public let cost: Double
}

/// One pick: a read-only view of every endpoint's load, in the order of the last update, and
/// the request's hash. Valid only during ``Balancer/pick(_:)``; do not keep it.
public struct PickRequest {
    @usableFromInline let base: UnsafeRawPointer?
    @usableFromInline let stride: Int
    /// Set when the balancer asks about an endpoint that is not there (its own bug): the pick
    /// then reaches the host as SY_PICK_ERROR, a fault it counts and answers safely, instead
    /// of crashing the proxy. Nil in ``with(_:hash:_:)`` (a test's own balancer: a crash there
    /// is the clearest report).
    @usableFromInline let misuse: UnsafeMutablePointer<Bool>?
    /// Number of endpoints (the count of the last update).
    public let count: Int
    /// How many of them are ready; 0 means the answer must be nil.
    public let readyCount: Int
    /// The request hash from the backend's `hashPolicy`, if it has one and it applied.
    public let hash: UInt64?

    @usableFromInline
    init(_ pick: UnsafePointer<sy_pick>, misuse: UnsafeMutablePointer<Bool>? = nil) {
        self.misuse = misuse
        base = UnsafeRawPointer(pick.pointee.loads)
        stride = Int(pick.pointee.load_size)
        count = Int(pick.pointee.count)
        readyCount = Int(pick.pointee.ready_count)
        hash = pick.pointee.has_hash != 0 ? pick.pointee.hash : nil
    }

    /// Whether every endpoint is ready (the common case, worth a fast path).
    @inlinable public var allReady: Bool { readyCount == count }

    @inlinable
    func raw(_ index: Int) -> sy_endpoint_load {
        guard index >= 0, index < count, let base else {
            misused("endpoint index \(index) out of range 0..<\(count)")
            return sy_endpoint_load()  // not ready, no weight, no load
        }
        return base.load(fromByteOffset: index &* stride, as: sy_endpoint_load.self)
    }

    /// Records a misuse (see ``misuse``), or stops a test's balancer with `message`.
    @usableFromInline
    func misused(_ message: @autoclosure () -> String) {
        guard let misuse else { preconditionFailure(message()) }
        misuse.pointee = true
    }

    /// Whether endpoint `index` is ready.
    @inlinable
    public func isReady(_ index: Int) -> Bool { raw(index).ready != 0 }

    /// The peak-EWMA cost of endpoint `index`.
    @inlinable
    public func cost(_ index: Int) -> Double { raw(index).cost }

    /// Requests in flight to endpoint `index`.
    @inlinable
    public func inFlight(_ index: Int) -> Int { Int(raw(index).in_flight) }

    /// Weight of endpoint `index`.
    @inlinable
    public func weight(_ index: Int) -> Int { Int(raw(index).weight) }

    /// The index of the `ordinal`-th ready endpoint (0-based, `ordinal < readyCount`):
    /// the identity when every endpoint is ready, a scan otherwise.
    @inlinable
    public func readyIndex(_ ordinal: Int) -> Int {
        if allReady { return ordinal }
        var remaining = ordinal
        for index in 0..<count where isReady(index) {
            if remaining == 0 { return index }
            remaining -= 1
        }
        misused("ordinal \(ordinal) ≥ readyCount \(readyCount)")
        return 0
    }

    /// Everything about endpoint `index`.
    @inlinable
    public subscript(index: Int) -> EndpointLoad {
        let load = raw(index)
        return EndpointLoad(ready: load.ready != 0, weight: Int(load.weight), inFlight: Int(load.in_flight), cost: load.cost)
    }
}

extension EndpointLoad {
    /// Creates a load (for tests of a balancer).
    public init(ready: Bool = true, weight: Int = 1, inFlight: Int = 0, cost: Double = 30_000_000) {
        self.isReady = ready
        self.weight = weight
        self.inFlight = inFlight
        self.cost = cost
    }
}

extension PickRequest {
    /// Runs `body` with a pick over `loads`, laid out as the host lays them out. For tests and
    /// benchmarks that drive a balancer without a host.
    public static func with<R>(_ loads: [EndpointLoad], hash: UInt64? = nil, _ body: (PickRequest) throws -> R) rethrows -> R {
        let raw = loads.map {
            sy_endpoint_load(
                ready: $0.isReady ? 1 : 0, weight: UInt32($0.weight), in_flight: UInt32($0.inFlight), reserved: 0, cost: $0.cost)
        }
        return try raw.withUnsafeBufferPointer { buffer in
            var pick = sy_pick(
                struct_size: UInt32(MemoryLayout<sy_pick>.size), count: UInt32(buffer.count),
                ready_count: UInt32(loads.count { $0.isReady }), load_size: UInt32(MemoryLayout<sy_endpoint_load>.stride),
                loads: buffer.baseAddress, has_hash: hash == nil ? 0 : 1, reserved: 0, hash: hash ?? 0)
            return try withUnsafePointer(to: &pick) { try body(PickRequest($0)) }
        }
    }
}
