import SwitchyardABI
import SwitchyardCore

/// One balancer instance serving one backend on one event loop, and the load table it picks
/// over. Not thread-safe by design: the ABI promises plugins that every call on an instance
/// comes from one thread, and the host keeps that promise by owning the instance per loop.
///
/// The load table is one contiguous buffer of `sy_endpoint_load`, updated in place by the
/// data path (readiness, in-flight counts, costs) and handed to the plugin as is: a pick
/// allocates nothing and takes no lock.
public final class BalancerInstance {
    /// What it is an instance of.
    public let definition: BalancerDefinition
    /// The load model the plugin asked for.
    public let loadModel: LoadModel
    private let instance: UnsafeMutableRawPointer
    private let pickHook: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_pick>?) -> Int32
    private let observeHook: BalancerDefinition.ObserveHook?
    private var loads: UnsafeMutableBufferPointer<sy_endpoint_load>
    /// The pick handed to the plugin, kept between picks: an update sets its table, a pick
    /// only its ready count and hash.
    private let request: UnsafeMutablePointer<sy_pick>
    /// The addresses of the last update, in its order (an update tells the plugin where each
    /// kept address was).
    private var addresses: [String] = []
    /// Every loop's in-flight counts of this backend's endpoints, when more than one loop
    /// serves it (with one, the backend-wide count is this loop's).
    private var backendInFlight: BackendInFlight?
    /// Whether the plugin can read `backend_in_flight` (built for ABI 1.1 or later): a 1.0
    /// plugin's picks skip refreshing it.
    private let readsBackendInFlight: Bool
    /// How many endpoints are ready.
    public private(set) var readyCount = 0

    init(definition: BalancerDefinition, instance: UnsafeMutableRawPointer, loadModel: LoadModel) {
        self.definition = definition
        self.instance = instance
        self.loadModel = loadModel
        self.pickHook = definition.def.pointer.pointee.pick
        self.observeHook = definition.observeHook
        self.readsBackendInFlight = definition.abiMinor >= 1
        self.loads = .allocate(capacity: 0)
        self.request = .allocate(capacity: 1)
        request.initialize(to: sy_pick())
        update([])
    }

    deinit {
        definition.def.pointer.pointee.destroy(instance)
        loads.deallocate()
        request.deallocate()
    }

    /// Number of endpoints.
    public var count: Int { loads.count }

    /// Whether the plugin hears outcomes (it has an `observe` hook).
    public var observes: Bool { observeHook != nil }

    /// Replaces the endpoint set: every endpoint starts ready, idle, at the default RTT cost.
    /// The plugin learns where each kept address was in the previous set. `backendInFlight`
    /// counts the endpoints' requests across every loop (nil: this loop is the only one).
    public func update(_ endpoints: [BalancerEndpoint], backendInFlight: BackendInFlight? = nil) {
        var previous: [String: Int] = [:]
        for (i, address) in addresses.enumerated() { previous[address] = i }
        withSyStrs(endpoints.map(\.address)) { addresses in
            let cEndpoints = endpoints.indices.map {
                sy_endpoint(
                    struct_size: UInt32(MemoryLayout<sy_endpoint>.size), weight: UInt32(clamping: max(endpoints[$0].weight, 1)),
                    address: addresses[$0], previous_index: previous[endpoints[$0].address].map { UInt32($0) } ?? SY_NEW_ENDPOINT,
                    reserved: 0)
            }
            cEndpoints.withUnsafeBufferPointer { buffer in
                definition.def.pointer.pointee.update(
                    instance, buffer.baseAddress, UInt32(buffer.count), UInt32(MemoryLayout<sy_endpoint>.stride))
            }
        }
        addresses = endpoints.map(\.address)
        self.backendInFlight = backendInFlight.flatMap { $0.count == endpoints.count ? $0 : nil }
        loads.deallocate()
        loads = .allocate(capacity: endpoints.count)
        let idleCost = Double(loadModel.defaultRtt.nanoseconds)
        for (i, endpoint) in endpoints.enumerated() {
            loads.initializeElement(
                at: i,
                to: sy_endpoint_load(
                    ready: 1, weight: UInt32(clamping: max(endpoint.weight, 1)), in_flight: 0, reserved: 0, cost: idleCost,
                    backend_in_flight: 0, reserved2: 0))
        }
        readyCount = endpoints.count
        request.pointee = sy_pick(
            struct_size: UInt32(MemoryLayout<sy_pick>.size), count: UInt32(loads.count), ready_count: 0,
            load_size: UInt32(MemoryLayout<sy_endpoint_load>.stride), loads: UnsafePointer(loads.baseAddress), has_hash: 0, reserved: 0, hash: 0)
    }

    /// Marks endpoint `index` ready or not (its breaker open or shut).
    public func setReady(_ index: Int, _ ready: Bool) {
        let flag: UInt32 = ready ? 1 : 0
        guard loads[index].ready != flag else { return }
        loads[index].ready = flag
        readyCount += ready ? 1 : -1
    }

    /// Whether endpoint `index` is ready.
    public func isReady(_ index: Int) -> Bool { loads[index].ready != 0 }

    /// Sets the load of endpoint `index`: this loop's requests in flight and peak-EWMA cost.
    @inline(__always)
    public func setLoad(_ index: Int, inFlight: Int, cost: Double) {
        let count = UInt32(clamping: inFlight)
        loads[index].in_flight = count
        loads[index].cost = cost
        if backendInFlight == nil { loads[index].backend_in_flight = count }
    }

    /// Asks the plugin for an endpoint: the index of a ready one, or nil when none can take the
    /// request. A bad answer is a plugin fault, answered with the first ready endpoint.
    public func pick(hash: UInt64? = nil) -> Int? {
        guard readyCount > 0 else { return nil }
        if let backendInFlight, readsBackendInFlight {
            for i in 0..<loads.count { loads[i].backend_in_flight = UInt32(clamping: backendInFlight[i]) }
        }
        request.pointee.ready_count = UInt32(readyCount)
        request.pointee.has_hash = hash == nil ? 0 : 1
        request.pointee.hash = hash ?? 0
        let choice = Int(pickHook(instance, request))
        if choice >= 0, choice < loads.count, loads[choice].ready != 0 { return choice }
        return answerFault(choice)
    }

    /// Tells the plugin how a request it picked `outcome.endpoint` for ended, if it observes.
    @inline(__always)
    public func observe(_ outcome: BalancerOutcome) {
        guard let observeHook, outcome.endpoint >= 0, outcome.endpoint < loads.count else { return }
        var report = sy_outcome(
            struct_size: UInt32(MemoryLayout<sy_outcome>.size), endpoint: UInt32(outcome.endpoint), latency_ns: outcome.latencyNanoseconds,
            http_status: Int32(clamping: outcome.httpStatus), grpc_status: Int32(clamping: outcome.grpcStatus ?? -1),
            flags: outcome.flags.rawValue, reserved: 0)
        observeHook(instance, &report)
    }

    /// A pick that is not a ready index (DESIGN.md §3: faults are answered safely): counted,
    /// answered with the first ready endpoint (there is one: the plugin is asked only then).
    private func answerFault(_ choice: Int) -> Int? {
        let why =
            if choice == Int(SY_PICK_NONE) {
                "pick returned SY_PICK_NONE with \(readyCount) ready endpoint(s)"
            } else if choice < 0 {
                "pick failed (returned \(choice)\(choice == Int(SY_PICK_ERROR) ? ", SY_PICK_ERROR" : ""))"
            } else if choice < loads.count {
                "pick returned endpoint \(choice), which is not ready"
            } else {
                "pick returned \(choice), outside 0..<\(loads.count)"
            }
        definition.faults.record(why)
        return loads.firstIndex { $0.ready != 0 }
    }
}

/// An endpoint as a balancer is told about it.
public struct BalancerEndpoint: Hashable, Sendable {
    /// The address, its identity across updates.
    public var address: String
    /// Relative weight, ≥ 1.
    public var weight: Int

    /// Creates an endpoint description.
    public init(address: String, weight: Int = 1) {
        self.address = address
        self.weight = weight
    }
}

/// How a dispatched request ended, as a balancer's `observe` hook hears it (`sy_outcome`).
public struct BalancerOutcome: Hashable, Sendable {
    /// What else happened (`SY_OUTCOME_*`).
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The endpoint could not be reached.
        public static let connectFailure = Flags(rawValue: SY_OUTCOME_CONNECT_FAILURE)
        /// The client went away first.
        public static let cancel = Flags(rawValue: SY_OUTCOME_CANCEL)
        /// The request was the endpoint's breaker probe.
        public static let probe = Flags(rawValue: SY_OUTCOME_PROBE)
        /// A route timeout ended it.
        public static let timeout = Flags(rawValue: SY_OUTCOME_TIMEOUT)
        /// The upstream reset or broke off before the response ended.
        public static let reset = Flags(rawValue: SY_OUTCOME_RESET)
    }

    /// The endpoint's index in the last update.
    public var endpoint: Int
    /// From the endpoint taking the request to its end.
    public var latencyNanoseconds: UInt64
    /// The upstream's HTTP status; 0 when no response head came.
    public var httpStatus: Int
    /// The gRPC status, when the request is gRPC and one came.
    public var grpcStatus: Int?
    /// What else happened.
    public var flags: Flags

    /// Creates an outcome.
    public init(endpoint: Int, latencyNanoseconds: UInt64, httpStatus: Int, grpcStatus: Int? = nil, flags: Flags = []) {
        self.endpoint = endpoint
        self.latencyNanoseconds = latencyNanoseconds
        self.httpStatus = httpStatus
        self.grpcStatus = grpcStatus
        self.flags = flags
    }
}
