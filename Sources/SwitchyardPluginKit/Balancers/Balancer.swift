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
    /// Replaces the endpoint set; later picks index into it. Each endpoint says where its
    /// address was in the previous set (``EndpointInfo/previousIndex``), so per-endpoint state
    /// can be carried over.
    func update(_ endpoints: [EndpointInfo])
    /// Chooses the index of a ready endpoint for one request, or nil when none can take it.
    func pick(_ request: PickRequest) -> Int?
}

/// A balancer that learns from outcomes (ABI 1.1 `observe`): the host tells it how every
/// request it picked an endpoint for ended, on its event loop, before the request leaves the
/// endpoint's in-flight count. ``observe(_:)`` runs per request and must not allocate.
public protocol ObservingBalancer: Balancer {
    /// Hears how one dispatched request ended.
    func observe(_ outcome: RequestOutcome)
}

/// How one dispatched request ended (`sy_outcome`).
public struct RequestOutcome: Sendable, Hashable {
    /// The endpoint's index in the last update.
    public let endpoint: Int
    /// From the endpoint taking the request to its last byte or failure.
    public let latency: Duration
    /// The upstream's HTTP status; nil when no response head came.
    public let httpStatus: Int?
    /// The gRPC status, when the request is gRPC and one came.
    public let grpcStatus: Int?
    /// The endpoint could not be reached.
    public let connectFailed: Bool
    /// The client's doing: it went away, stalled its body, stopped reading, or its own deadline
    /// (`grpc-timeout`) ran out, before the response ended.
    public let cancelled: Bool
    /// The request was the endpoint's breaker probe.
    public let probe: Bool
    /// A route timeout ran out while the endpoint had the whole request and the client was
    /// reading: the endpoint was late. (A client's own deadline running out is ``cancelled``.)
    public let timedOut: Bool
    /// The upstream reset or broke off before the response ended.
    public let reset: Bool

    /// Creates an outcome (for tests of a balancer; the kit makes them from the host's).
    public init(
        endpoint: Int, latency: Duration, httpStatus: Int?, grpcStatus: Int? = nil, connectFailed: Bool = false, cancelled: Bool = false,
        probe: Bool = false, timedOut: Bool = false, reset: Bool = false
    ) {
        self.endpoint = endpoint
        self.latency = latency
        self.httpStatus = httpStatus
        self.grpcStatus = grpcStatus
        self.connectFailed = connectFailed
        self.cancelled = cancelled
        self.probe = probe
        self.timedOut = timedOut
        self.reset = reset
    }

    /// Whether the endpoint failed: it could not be reached, reset, ran late, or answered a
    /// 5xx or a failing gRPC status (UNKNOWN, DEADLINE_EXCEEDED, PERMISSION_DENIED, INTERNAL,
    /// UNAVAILABLE, DATA_LOSS): what DESIGN.md §5's breakers count.
    public var isFailure: Bool {
        if connectFailed || reset || timedOut { return true }
        if let httpStatus, httpStatus >= 500 { return true }
        switch grpcStatus {
        case 2, 4, 7, 13, 14, 15: return true
        default: return false
        }
    }
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
    /// Its index in the previous update, or nil when the address is new.
    public let previousIndex: Int?

    /// Creates an endpoint description.
    public init(address: String, weight: Int, previousIndex: Int? = nil) {
        self.address = address
        self.weight = weight
        self.previousIndex = previousIndex
    }
}

/// The load of one endpoint at pick time.
public struct EndpointLoad: Sendable, Hashable {
    /// Whether the endpoint may take a request now.
    public let isReady: Bool
    /// Relative weight, ≥ 1.
    public let weight: Int
    /// Requests this event loop has in flight to it.
    public let inFlight: Int
    /// Peak-EWMA cost: RTT estimate (ns) × (inFlight + 1). Lower is better.
    public let cost: Double
    /// Requests every event loop has in flight to it (``inFlight`` from a 1.0 host).
    public let backendInFlight: Int
}

/// One pick: a read-only view of every endpoint's load, in the order of the last update, and
/// the request's hash. Valid only during ``Balancer/pick(_:)``; do not keep it.
public struct PickRequest {
    /// The host's pick, whose fields are read where they are used: two words in all, which a
    /// pick passes in registers (measured faster than copying the fields in first).
    @usableFromInline let pick: UnsafePointer<sy_pick>
    /// Set when the balancer asks about an endpoint that is not there (its own bug): the pick
    /// then reaches the host as SY_PICK_ERROR, a fault it counts and answers safely, instead
    /// of crashing the proxy. Nil in ``with(_:hash:_:)`` (a test's own balancer: a crash there
    /// is the clearest report).
    @usableFromInline let misuse: UnsafeMutablePointer<Bool>?

    @usableFromInline
    init(_ pick: UnsafePointer<sy_pick>, misuse: UnsafeMutablePointer<Bool>? = nil) {
        self.pick = pick
        self.misuse = misuse
    }

    /// Bytes from one endpoint's load to the next.
    @inlinable var stride: Int { Int(pick.pointee.load_size) }

    /// Number of endpoints (the count of the last update).
    @inlinable public var count: Int { Int(pick.pointee.count) }
    /// How many of them are ready; 0 means the answer must be nil.
    @inlinable public var readyCount: Int { Int(pick.pointee.ready_count) }
    /// The request hash from the backend's `hashPolicy`, if it has one and it applied.
    @inlinable public var hash: UInt64? { pick.pointee.has_hash != 0 ? pick.pointee.hash : nil }

    /// Whether every endpoint is ready (the common case, worth a fast path).
    @inlinable public var allReady: Bool { readyCount == count }

    /// Endpoint `index`'s load element, or nil (a misuse) when there is none.
    @inlinable
    func element(_ index: Int) -> UnsafeRawPointer? {
        guard index >= 0, index < count, let base = UnsafeRawPointer(pick.pointee.loads) else {
            misused("endpoint index \(index) out of range 0..<\(count)")
            return nil
        }
        return base + index &* stride
    }

    /// The byte offset of each `sy_endpoint_load` field: frozen by the ABI (the 1.0 fields by
    /// the layout test, `backend_in_flight` by 1.1's). Fields are read one by one, never the
    /// whole struct: an element is `stride` bytes, which an older host makes shorter than
    /// this kit's `sy_endpoint_load`.
    @usableFromInline
    enum Offset {
        @usableFromInline static let ready = 0
        @usableFromInline static let weight = 4
        @usableFromInline static let inFlight = 8
        @usableFromInline static let cost = 16
        @usableFromInline static let backendInFlight = 24
    }

    /// The field at `offset` of endpoint `index`'s load, or `absent` (a misuse) when there is
    /// no such endpoint.
    @inlinable
    func field<T>(_ index: Int, at offset: Int, absent: T) -> T {
        guard let element = element(index) else { return absent }
        return element.load(fromByteOffset: offset, as: T.self)
    }

    /// Records a misuse (see ``misuse``), or stops a test's balancer with `message`.
    @usableFromInline
    func misused(_ message: @autoclosure () -> String) {
        guard let misuse else { preconditionFailure(message()) }
        misuse.pointee = true
    }

    /// Whether endpoint `index` is ready.
    @inlinable
    public func isReady(_ index: Int) -> Bool { field(index, at: Offset.ready, absent: UInt32(0)) != 0 }

    /// The peak-EWMA cost of endpoint `index`.
    @inlinable
    public func cost(_ index: Int) -> Double { field(index, at: Offset.cost, absent: 0.0) }

    /// Requests in flight to endpoint `index`.
    @inlinable
    public func inFlight(_ index: Int) -> Int { Int(field(index, at: Offset.inFlight, absent: UInt32(0))) }

    /// Requests every event loop has in flight to endpoint `index` (ABI 1.1; from a 1.0 host,
    /// this loop's count).
    @inlinable
    public func backendInFlight(_ index: Int) -> Int {
        guard stride >= Int(SY_ENDPOINT_LOAD_SIZE_1_1) else { return inFlight(index) }
        return Int(field(index, at: Offset.backendInFlight, absent: UInt32(0)))
    }

    /// Weight of endpoint `index`.
    @inlinable
    public func weight(_ index: Int) -> Int { Int(field(index, at: Offset.weight, absent: UInt32(0))) }

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
        EndpointLoad(
            ready: isReady(index), weight: weight(index), inFlight: inFlight(index), cost: cost(index), backendInFlight: backendInFlight(index))
    }
}

extension EndpointLoad {
    /// Creates a load (for tests of a balancer).
    public init(ready: Bool = true, weight: Int = 1, inFlight: Int = 0, cost: Double = 30_000_000, backendInFlight: Int? = nil) {
        self.isReady = ready
        self.weight = weight
        self.inFlight = inFlight
        self.cost = cost
        self.backendInFlight = backendInFlight ?? inFlight
    }
}

extension PickRequest {
    /// Runs `body` with a pick over `loads`, laid out as the host lays them out. For tests and
    /// benchmarks that drive a balancer without a host.
    public static func with<R>(_ loads: [EndpointLoad], hash: UInt64? = nil, _ body: (PickRequest) throws -> R) rethrows -> R {
        let raw = loads.map {
            sy_endpoint_load(
                ready: $0.isReady ? 1 : 0, weight: UInt32($0.weight), in_flight: UInt32($0.inFlight), reserved: 0, cost: $0.cost,
                backend_in_flight: UInt32($0.backendInFlight), reserved2: 0)
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
