import SwitchyardABI

/// The host services pointer handed to a plugin's entry function (opaque to plugin authors).
public typealias PluginHostHandle = UnsafeRawPointer?
/// The descriptor pointer a plugin's entry function returns (opaque to plugin authors).
public typealias PluginDescriptorHandle = UnsafeRawPointer?

/// Turns Swift resolver and balancer types into the C ABI's descriptor. A plugin's whole
/// export is one function:
///
/// ```swift
/// import SwitchyardPluginKit
///
/// @_cdecl("switchyard_plugin_entry_v1")
/// public func switchyardPluginEntry(_ host: PluginHostHandle) -> PluginDescriptorHandle {
///     PluginExport.entry(host: host, name: "my-plugin", version: "1.0.0", resolvers: [TeamLabel.self])
/// }
/// ```
public enum PluginExport {
    /// Builds (once) and returns the plugin's descriptor, keeping `host` for ``HostServices``.
    /// Later calls return the same descriptor.
    public static func entry(
        host: PluginHostHandle,
        name: String,
        version: String,
        resolvers: [any Resolver.Type] = [],
        balancers: [any Balancer.Type] = [],
        discoveries: [any Discovery.Type] = []
    ) -> PluginDescriptorHandle {
        let descriptor = exportState.withLock { state in
            if let descriptor = state.descriptor { return descriptor }
            if let host {
                state.host = SendablePointer(host.assumingMemoryBound(to: sy_host_services.self))
            }
            let resolverDefs = resolvers.map { makeResolverDef($0) }
            let balancerDefs = balancers.map { makeBalancerDef($0) }
            let discoveryDefs = discoveries.map { makeDiscoveryDef($0) }
            let descriptor = UnsafeMutablePointer<sy_plugin_descriptor>.allocate(capacity: 1)
            descriptor.initialize(
                to: sy_plugin_descriptor(
                    struct_size: UInt32(MemoryLayout<sy_plugin_descriptor>.size),
                    abi_major: UInt16(SY_ABI_MAJOR), abi_minor: UInt16(SY_ABI_MINOR),
                    name: staticCString(name), version: staticCString(version),
                    resolvers: staticArray(resolverDefs), resolver_count: UInt32(resolverDefs.count),
                    balancer_count: UInt32(balancerDefs.count), balancers: staticArray(balancerDefs),
                    discoveries: staticArray(discoveryDefs), discovery_count: UInt32(discoveryDefs.count), reserved: 0))
            state.descriptor = SendablePointer(UnsafePointer(descriptor))
            return state.descriptor!
        }
        return UnsafeRawPointer(descriptor.pointer)
    }
}

// MARK: - Static tables (allocated once, never freed: plugins are never unloaded)

private func staticCString(_ string: String) -> UnsafePointer<CChar> {
    let bytes = Array(string.utf8CString)
    let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: bytes.count)
    _ = buffer.initialize(from: bytes)
    return UnsafePointer(buffer.baseAddress!)
}

private func staticArray<T>(_ elements: [UnsafePointer<T>]) -> UnsafePointer<UnsafePointer<T>?>? {
    guard !elements.isEmpty else { return nil }
    let buffer = UnsafeMutableBufferPointer<UnsafePointer<T>?>.allocate(capacity: elements.count)
    _ = buffer.initialize(from: elements.map { Optional($0) })
    return UnsafePointer(buffer.baseAddress!)
}

private func staticDef<T>(_ def: T) -> UnsafePointer<T> {
    let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
    pointer.initialize(to: def)
    return UnsafePointer(pointer)
}

/// Reports a refusal for `call` through the host and returns SY_ERROR.
func fail(_ call: OpaquePointer?, _ error: some Error) -> sy_status {
    if let host = HostServices.table {
        withSyStrs([String(describing: error)]) { host.pointee.fail(call, $0[0]) }
    }
    return SY_ERROR
}

// MARK: - Resolvers

/// A resolver type, kept behind the def's `context` pointer.
private final class ResolverFactory {
    let make: (PluginConfig) throws(PluginConfigError) -> ResolverBox
    init<R: Resolver>(_ type: R.Type) {
        make = { config throws(PluginConfigError) in ResolverBox(try R(config: config)) }
    }
}

/// A resolver instance, behind the `void *instance` pointer.
private final class ResolverBox: Sendable {
    let service: (any ServiceResolver)?
    let endpoint: (any EndpointResolver)?
    init(_ resolver: some Resolver) {
        service = resolver as? any ServiceResolver
        endpoint = resolver as? any EndpointResolver
    }
}

private func makeResolverDef<R: Resolver>(_ type: R.Type) -> UnsafePointer<sy_resolver_def> {
    let resolveService: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_service_query>?, OpaquePointer?) -> sy_status)? =
        R.self is any ServiceResolver.Type
        ? { instance, query, call in
            // Fields are read through the pointer, never the whole struct (see PickRequest).
            guard let q = query, Int(q.pointee.struct_size) >= Int(SY_SERVICE_QUERY_SIZE_1_0) else { return SY_DECLINE }
            let box = Unmanaged<ResolverBox>.fromOpaque(instance!).takeUnretainedValue()
            let question = ServiceQuery(
                authority: q.pointee.authority.string, host: q.pointee.host.string, port: UInt16(truncatingIfNeeded: q.pointee.port))
            return answer(box.service!.resolve(service: question), call)
        } : nil
    let resolveEndpoint: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_endpoint_query>?, OpaquePointer?) -> sy_status)? =
        R.self is any EndpointResolver.Type
        ? { instance, query, call in
            guard let q = query, Int(q.pointee.struct_size) >= Int(SY_ENDPOINT_QUERY_SIZE_1_0) else { return SY_DECLINE }
            let box = Unmanaged<ResolverBox>.fromOpaque(instance!).takeUnretainedValue()
            var labels: [String: String] = [:]
            if Int(q.pointee.label_size) >= Int(SY_LABEL_SIZE_1_0) {
                for i in 0..<Int(q.pointee.label_count) {
                    let label = loadElement(q.pointee.labels, Int(q.pointee.label_size), i, as: sy_label.self)
                    labels[label.key.string] = label.value.string
                }
            }
            let question = EndpointQuery(
                address: q.pointee.address.string, host: q.pointee.host.string, port: UInt16(truncatingIfNeeded: q.pointee.port), labels: labels)
            return answer(box.endpoint!.resolve(endpoint: question), call)
        } : nil
    return staticDef(
        sy_resolver_def(
            struct_size: UInt32(MemoryLayout<sy_resolver_def>.size),
            name: staticCString(R.name), summary: staticCString(R.summary),
            context: Unmanaged.passRetained(ResolverFactory(type)).toOpaque(),
            create: { context, config, call, instance in
                let factory = Unmanaged<ResolverFactory>.fromOpaque(context!).takeUnretainedValue()
                do {
                    let parsed = try PluginConfig(json: config.string)
                    let box = try factory.make(parsed)
                    try parsed.rejectUnknownKeys()
                    instance!.pointee = Unmanaged.passRetained(box).toOpaque()
                    return SY_OK
                } catch {
                    return fail(call, error)
                }
            },
            destroy: { instance in
                if let instance { Unmanaged<ResolverBox>.fromOpaque(instance).release() }
            },
            resolve_service: resolveService,
            resolve_endpoint: resolveEndpoint))
}

/// Sends a resolver's answer (or "not mine") back to the host.
private func answer(_ meta: Meta?, _ call: OpaquePointer?) -> sy_status {
    guard let meta else { return SY_DECLINE }
    guard let host = HostServices.table else { return SY_DECLINE }
    meta.withSyMeta { host.pointee.answer_meta(call, $0) }
    return SY_OK
}

/// Reads element `index` of a boundary array whose elements are `size` bytes apart.
private func loadElement<T>(_ base: UnsafePointer<T>?, _ size: Int, _ index: Int, as: T.Type) -> T {
    UnsafeRawPointer(base!).load(fromByteOffset: size * index, as: T.self)
}

// MARK: - Discoveries

/// A discovery type, kept behind the def's `context` pointer.
private final class DiscoveryFactory {
    let make: (PluginConfig, DiscoveryTarget) throws(PluginConfigError) -> any Discovery
    init<D: Discovery>(_ type: D.Type) {
        make = { config, target throws(PluginConfigError) in try D(config: config, target: target) }
    }
}

private func makeDiscoveryDef<D: Discovery>(_ type: D.Type) -> UnsafePointer<sy_discovery_def> {
    staticDef(
        sy_discovery_def(
            struct_size: UInt32(MemoryLayout<sy_discovery_def>.size), reserved: 0,
            name: staticCString(D.name), summary: staticCString(D.summary),
            context: Unmanaged.passRetained(DiscoveryFactory(type)).toOpaque(),
            create: { context, params, call, instance in
                let factory = Unmanaged<DiscoveryFactory>.fromOpaque(context!).takeUnretainedValue()
                // Fields are read through the pointer, never the whole struct.
                guard let p = params, Int(p.pointee.struct_size) >= Int(SY_DISCOVERY_PARAMS_SIZE_1_2) else {
                    return fail(call, PluginConfigError(key: nil, message: "the host passed no discovery parameters"))
                }
                let target = DiscoveryTarget(
                    authority: p.pointee.authority.string, host: p.pointee.host.string, port: UInt16(truncatingIfNeeded: p.pointee.port),
                    seed: p.pointee.seed)
                do {
                    let parsed = try PluginConfig(json: p.pointee.config_json.string)
                    let discovery = try factory.make(parsed, target)
                    try parsed.rejectUnknownKeys()
                    instance!.pointee = Unmanaged.passRetained(DiscoveryBox(discovery)).toOpaque()
                    return SY_OK
                } catch {
                    return fail(call, error)
                }
            },
            start: { instance, sink in
                guard let instance else { return }
                Unmanaged<DiscoveryBox>.fromOpaque(instance).takeUnretainedValue().start(DiscoverySink(handle: sink, host: HostServices.table))
            },
            destroy: { instance in
                guard let instance else { return }
                let box = Unmanaged<DiscoveryBox>.fromOpaque(instance)
                box.takeUnretainedValue().stop()
                box.release()
            }))
}

/// A discovery instance, behind the `void *instance` pointer: stops it only if it started.
private final class DiscoveryBox: @unchecked Sendable {
    // Touched only by the host's create, start and destroy, which never run concurrently.
    let discovery: any Discovery
    private var started = false
    init(_ discovery: any Discovery) { self.discovery = discovery }
    func start(_ sink: DiscoverySink) {
        started = true
        discovery.start(sink)
    }
    func stop() {
        if started { discovery.stop() }
    }
}

// MARK: - Balancers

/// One pick through the ABI: the balancer's answer as `pick()` returns it, SY_PICK_ERROR when
/// the balancer asked about an endpoint that is not there (a fault the host counts, never a
/// crash of the proxy).
func abiPick(_ box: BalancerBox, _ pick: UnsafePointer<sy_pick>) -> Int32 {
    let request = PickRequest(pick, misuse: box.misused)
    guard request.readyCount > 0 else { return SY_PICK_NONE }
    box.misused.pointee = false
    let choice = box.balancer.pick(request)
    if box.misused.pointee { return SY_PICK_ERROR }
    return choice.map { Int32(truncatingIfNeeded: $0) } ?? SY_PICK_NONE
}

/// The `observe` hook of an ``ObservingBalancer``: the host's outcome as a ``RequestOutcome``.
private let abiObserve: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_outcome>?) -> Void = { instance, outcome in
    // An outcome shorter than 1.1's (where it first appeared) cannot be read; fields are read
    // one by one through the pointer (never the whole struct, which a later kit may make longer
    // than the host's).
    guard let instance, let o = outcome, Int(o.pointee.struct_size) >= Int(SY_OUTCOME_SIZE_1_1) else { return }
    let flags = o.pointee.flags
    let heard = RequestOutcome(
        endpoint: Int(o.pointee.endpoint), latency: .nanoseconds(Int64(clamping: o.pointee.latency_ns)),
        httpStatus: o.pointee.http_status > 0 ? Int(o.pointee.http_status) : nil,
        grpcStatus: o.pointee.grpc_status >= 0 ? Int(o.pointee.grpc_status) : nil, connectFailed: flags & SY_OUTCOME_CONNECT_FAILURE != 0,
        cancelled: flags & SY_OUTCOME_CANCEL != 0, probe: flags & SY_OUTCOME_PROBE != 0, timedOut: flags & SY_OUTCOME_TIMEOUT != 0,
        reset: flags & SY_OUTCOME_RESET != 0)
    Unmanaged<BalancerBox>.fromOpaque(instance)._withUnsafeGuaranteedRef { $0.observer?.observe(heard) }
}

/// A balancer type, kept behind the def's `context` pointer.
private final class BalancerFactory {
    let make: (PluginConfig, inout BalancerSetup) throws(PluginConfigError) -> any Balancer
    init<B: Balancer>(_ type: B.Type) {
        make = { config, setup throws(PluginConfigError) in try B(config: config, setup: &setup) }
    }
}

/// A balancer instance, behind the `void *instance` pointer.
final class BalancerBox {
    let balancer: any Balancer
    /// The same balancer as an observer, cast once here rather than per outcome.
    let observer: (any ObservingBalancer)?
    /// Set during a pick when the balancer asked about an endpoint that is not there. Kept
    /// here rather than on the stack: a pick then takes no stack address (and no stack
    /// protector check).
    let misused: UnsafeMutablePointer<Bool>

    init(_ balancer: any Balancer) {
        self.balancer = balancer
        self.observer = balancer as? any ObservingBalancer
        misused = .allocate(capacity: 1)
        misused.initialize(to: false)
    }

    deinit {
        misused.deallocate()
    }
}

func makeBalancerDef<B: Balancer>(_ type: B.Type) -> UnsafePointer<sy_balancer_def> {
    staticDef(
        sy_balancer_def(
            struct_size: UInt32(MemoryLayout<sy_balancer_def>.size),
            name: staticCString(B.name), summary: staticCString(B.summary),
            context: Unmanaged.passRetained(BalancerFactory(type)).toOpaque(),
            create: { context, params, model, call, instance in
                let factory = Unmanaged<BalancerFactory>.fromOpaque(context!).takeUnretainedValue()
                guard let p = params, Int(p.pointee.struct_size) >= Int(SY_BALANCER_PARAMS_SIZE_1_0) else { return SY_ERROR }
                var setup = BalancerSetup(
                    seed: p.pointee.seed, loopIndex: Int(p.pointee.loop_index),
                    defaultRtt: .nanoseconds(Int64(clamping: model!.pointee.default_rtt_ns)),
                    decay: .nanoseconds(Int64(clamping: model!.pointee.decay_ns)))
                do {
                    let parsed = try PluginConfig(json: p.pointee.config_json.string)
                    let balancer = try factory.make(parsed, &setup)
                    try parsed.rejectUnknownKeys()
                    model!.pointee.default_rtt_ns = UInt64(max(setup.defaultRtt.nanoseconds, 1))
                    model!.pointee.decay_ns = UInt64(max(setup.decay.nanoseconds, 1))
                    instance!.pointee = Unmanaged.passRetained(BalancerBox(balancer)).toOpaque()
                    return SY_OK
                } catch {
                    return fail(call, error)
                }
            },
            destroy: { instance in
                if let instance { Unmanaged<BalancerBox>.fromOpaque(instance).release() }
            },
            update: { instance, endpoints, count, size in
                // Elements shorter than ABI 1.0's cannot be read; 1.1's previous_index is read
                // only when the host's elements hold it.
                guard let instance, count == 0 || (endpoints != nil && Int(size) >= Int(SY_ENDPOINT_SIZE_1_0)) else { return }
                let infos = (0..<Int(count)).map { i in
                    let element = UnsafeRawPointer(endpoints!) + Int(size) * i
                    let endpoint = element.assumingMemoryBound(to: sy_endpoint.self)
                    var previous: Int?
                    if Int(size) >= Int(SY_ENDPOINT_SIZE_1_1), endpoint.pointee.previous_index != SY_NEW_ENDPOINT {
                        previous = Int(endpoint.pointee.previous_index)
                    }
                    return EndpointInfo(address: endpoint.pointee.address.string, weight: Int(endpoint.pointee.weight), previousIndex: previous)
                }
                Unmanaged<BalancerBox>.fromOpaque(instance)._withUnsafeGuaranteedRef { $0.balancer.update(infos) }
            },
            pick: { instance, pick in
                // A host struct smaller than ABI 1.0's, or load elements smaller than 1.0's, cannot be read.
                guard let pick, let instance, Int(pick.pointee.struct_size) >= Int(SY_PICK_SIZE_1_0),
                    Int(pick.pointee.load_size) >= Int(SY_ENDPOINT_LOAD_SIZE_1_0)
                else { return SY_PICK_ERROR }
                return Unmanaged<BalancerBox>.fromOpaque(instance)._withUnsafeGuaranteedRef { abiPick($0, pick) }
            },
            observe: B.self is any ObservingBalancer.Type ? abiObserve : nil))
}
