import SwitchyardABI
import SwitchyardCore
import Synchronization

/// A discovery a loaded plugin exports, by name (ABI 1.2). The host makes one instance per
/// backend that names it with ``makeInstance(_:handler:)``.
public final class DiscoveryDefinition: Sendable {
    let def: SendablePointer<sy_discovery_def>
    /// The name config uses.
    public let name: String
    /// One line saying where it looks.
    public let summary: String
    /// The plugin that exports it.
    public let context: PluginContext
    /// Its bad events.
    public let faults: FaultRecord

    init(def: UnsafePointer<sy_discovery_def>, name: String, summary: String, context: PluginContext) {
        self.def = SendablePointer(def)
        self.name = name
        self.summary = summary
        self.context = context
        self.faults = FaultRecord(implementation: name, context: context)
    }

    /// What an instance is made for: its config and the backend it feeds.
    public struct Target: Hashable, Sendable {
        /// The `config` block as JSON text.
        public var configJSON: String
        /// The backend's authority.
        public var authority: Authority

        /// Creates a target.
        public init(configJSON: String, authority: Authority) {
            self.configJSON = configJSON
            self.authority = authority
        }
    }

    /// Checks a config by creating (and destroying) an instance: no I/O, no thread.
    /// - Throws: ``PluginError`` with `.configRefused` and the plugin's own message.
    public func validate(_ target: Target) throws(PluginError) {
        def.pointer.pointee.destroy(try create(target))
    }

    /// Creates an instance (not started) whose events go to `handler`.
    /// - Throws: ``PluginError`` with `.configRefused` and the plugin's own message.
    public func makeInstance(_ target: Target, handler: @escaping DiscoverySink.Handler) throws(PluginError) -> DiscoveryInstance {
        DiscoveryInstance(definition: self, instance: try create(target), sink: DiscoverySink(faults: faults, handler: handler))
    }

    private func create(_ target: Target) throws(PluginError) -> UnsafeMutableRawPointer {
        var instance: UnsafeMutableRawPointer?
        let (status, call) = withSyStrs([target.configJSON, target.authority.description, target.authority.host]) { s in
            var params = sy_discovery_params(
                struct_size: UInt32(MemoryLayout<sy_discovery_params>.size), port: UInt32(target.authority.port), config_json: s[0],
                authority: s[1], host: s[2], seed: UInt64.random(in: .min ... .max))
            return CallState.run { call in
                def.pointer.pointee.create(def.pointer.pointee.context, &params, call, &instance)
            }
        }
        guard status == SY_OK, let instance else {
            if status == SY_OK { faults.record("create returned SY_OK without an instance") }
            throw PluginError(
                file: context.file,
                .configRefused(kind: .discovery, name: name, plugin: context.name, message: call.failure ?? "(the plugin gave no reason)"))
        }
        return instance
    }
}

/// One running discovery: the plugin's instance and the sink it publishes to. Its owner stops
/// it (``stop()``) off the event loops and off the plugin's thread.
public final class DiscoveryInstance: Sendable {
    /// What it is an instance of.
    public let definition: DiscoveryDefinition
    private let instance: SendableRawPointer
    private let sink: DiscoverySink
    private enum Phase { case created, started, destroyed }
    private let phase = Mutex(Phase.created)

    init(definition: DiscoveryDefinition, instance: UnsafeMutableRawPointer, sink: DiscoverySink) {
        self.definition = definition
        self.instance = SendableRawPointer(instance)
        self.sink = sink
    }

    /// Starts the plugin's thread (once; later calls, and a call after ``stop()``, do nothing).
    public func start() {
        // start and destroy run under the lock, so a stop racing a start waits for it (the
        // plugin's publishes take the sink's lock, never this one).
        phase.withLock { phase in
            guard phase == .created else { return }
            phase = .started
            definition.def.pointer.pointee.start(instance.pointer, sink.handle)
        }
    }

    /// Destroys the instance: returns once the plugin no longer publishes. Call it off the
    /// event loops (it may wait for the plugin's thread). Later calls do nothing.
    public func stop() {
        phase.withLock { phase in
            guard phase != .destroyed else { return }
            phase = .destroyed
            definition.def.pointer.pointee.destroy(instance.pointer)
        }
        sink.close()
    }

    // No destroy in deinit: the last reference may drop on the plugin's own thread (inside a
    // publish), where destroy would wait for itself. An instance never stopped is leaked.
}

/// A plugin instance pointer: only ever passed back to the plugin, which makes its own calls
/// thread-safe as the ABI says.
struct SendableRawPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}
