import SwitchyardABI
import SwitchyardCore

/// A balancer a loaded plugin exports, by name. The host makes one instance per backend per
/// event loop with ``makeInstance(configJSON:seed:loopIndex:)``.
public final class BalancerDefinition: Sendable {
    let def: SendablePointer<sy_balancer_def>
    /// The name config uses.
    public let name: String
    /// One line saying how it picks.
    public let summary: String
    /// The plugin that exports it.
    public let context: PluginContext
    /// Its bad answers.
    public let faults: FaultRecord
    /// Its `observe` hook (ABI 1.1), when its def is long enough to hold one and sets it.
    let observeHook: ObserveHook?
    /// The ABI minor its plugin was built for.
    let abiMinor: Int

    typealias ObserveHook = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_outcome>?) -> Void

    init(def: UnsafePointer<sy_balancer_def>, name: String, summary: String, context: PluginContext, abiMinor: Int) {
        self.def = SendablePointer(def)
        self.abiMinor = abiMinor
        self.name = name
        self.summary = summary
        self.context = context
        self.faults = FaultRecord(implementation: name, context: context)
        // A 1.0 def ends before `observe`: what lies past its struct_size is not the plugin's.
        let observeEnd = (MemoryLayout<sy_balancer_def>.offset(of: \.observe) ?? Int.max - 8) + MemoryLayout<ObserveHook?>.size
        self.observeHook = Int(def.pointee.struct_size) >= observeEnd ? def.pointee.observe : nil
    }

    /// Whether its instances hear how requests end (it has an `observe` hook).
    public var observes: Bool { observeHook != nil }

    /// Checks a config block by creating (and destroying) one instance, and returns the load
    /// model it asks for. Config loading calls this so refusals surface before traffic.
    /// - Throws: ``PluginError`` with `.configRefused` and the plugin's own message.
    public func validate(configJSON: String) throws(PluginError) -> LoadModel {
        let (instance, model) = try create(configJSON: configJSON, seed: 0, loopIndex: 0)
        def.pointer.pointee.destroy(instance)
        return model
    }

    /// Creates an instance for one event loop.
    /// - Throws: ``PluginError`` with `.configRefused` and the plugin's own message.
    public func makeInstance(configJSON: String = "{}", seed: UInt64, loopIndex: Int = 0) throws(PluginError) -> BalancerInstance {
        let (instance, model) = try create(configJSON: configJSON, seed: seed, loopIndex: loopIndex)
        return BalancerInstance(definition: self, instance: instance, loadModel: model)
    }

    private func create(configJSON: String, seed: UInt64, loopIndex: Int) throws(PluginError) -> (UnsafeMutableRawPointer, LoadModel) {
        let defaults = LoadModel()
        var model = sy_load_model(
            struct_size: UInt32(MemoryLayout<sy_load_model>.size), reserved: 0,
            default_rtt_ns: UInt64(defaults.defaultRtt.nanoseconds), decay_ns: UInt64(defaults.decay.nanoseconds))
        var instance: UnsafeMutableRawPointer?
        let (status, call) = withSyStrs([configJSON]) { s in
            var params = sy_balancer_params(
                struct_size: UInt32(MemoryLayout<sy_balancer_params>.size), loop_index: UInt32(loopIndex), config_json: s[0], seed: seed)
            return CallState.run { call in
                def.pointer.pointee.create(def.pointer.pointee.context, &params, &model, call, &instance)
            }
        }
        guard status == SY_OK, let instance else {
            if status == SY_OK { faults.record("create returned SY_OK without an instance") }
            throw PluginError(
                file: context.file,
                .configRefused(kind: .balancer, name: name, plugin: context.name, message: call.failure ?? "(the plugin gave no reason)"))
        }
        let loadModel = LoadModel(
            defaultRtt: .nanoseconds(Int64(clamping: max(model.default_rtt_ns, 1))),
            decay: .nanoseconds(Int64(clamping: max(model.decay_ns, 1))))
        return (instance, loadModel)
    }
}

/// The parameters of the peak-EWMA load the host keeps per endpoint for a balancer
/// (DESIGN.md §5): what a new endpoint is assumed to cost, and how fast samples fade.
public struct LoadModel: Hashable, Sendable {
    /// RTT estimate of an endpoint without samples.
    public var defaultRtt: Duration
    /// Decay time constant.
    public var decay: Duration

    /// The defaults: 30 ms and 10 s.
    public init(defaultRtt: Duration = .milliseconds(30), decay: Duration = .seconds(10)) {
        self.defaultRtt = defaultRtt
        self.decay = decay
    }
}
