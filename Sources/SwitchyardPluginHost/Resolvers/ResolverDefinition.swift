import SwitchyardABI
import SwitchyardCore

/// A resolver a loaded plugin exports, by name. Make instances from config blocks with
/// ``makeInstance(configJSON:)``.
public final class ResolverDefinition: Sendable {
    private let def: SendablePointer<sy_resolver_def>
    /// The name config uses.
    public let name: String
    /// One line saying what it answers.
    public let summary: String
    /// The plugin that exports it.
    public let context: PluginContext
    /// Its bad answers.
    public let faults: FaultRecord

    init(def: UnsafePointer<sy_resolver_def>, name: String, summary: String, context: PluginContext) {
        self.def = SendablePointer(def)
        self.name = name
        self.summary = summary
        self.context = context
        self.faults = FaultRecord(implementation: name, context: context)
    }

    /// Whether it answers for services (parents and backends).
    public var resolvesServices: Bool { def.pointer.pointee.resolve_service != nil }
    /// Whether it answers for endpoints.
    public var resolvesEndpoints: Bool { def.pointer.pointee.resolve_endpoint != nil }

    /// Creates an instance from the JSON text of its config block.
    /// - Throws: ``PluginError`` with `.configRefused` and the plugin's own message.
    public func makeInstance(configJSON: String = "{}") throws(PluginError) -> ResolverInstance {
        var instance: UnsafeMutableRawPointer?
        let (status, call) = withSyStrs([configJSON]) { strings in
            CallState.run { call in def.pointer.pointee.create(def.pointer.pointee.context, strings[0], call, &instance) }
        }
        guard status == SY_OK, let instance else {
            if status == SY_OK { faults.record("create returned SY_OK without an instance") }
            throw PluginError(
                file: context.file,
                .configRefused(kind: .resolver, name: name, plugin: context.name, message: call.failure ?? "(the plugin gave no reason)"))
        }
        return ResolverInstance(definition: self, instance: instance)
    }

    /// Frees an instance this definition made.
    func destroy(_ instance: UnsafeMutableRawPointer) {
        def.pointer.pointee.destroy(instance)
    }

    /// Calls the service hook and checks the answer; nil for "not mine" or a fault.
    func resolve(_ instance: UnsafeMutableRawPointer, service authority: Authority, text: String) -> Meta? {
        guard let hook = def.pointer.pointee.resolve_service else { return nil }
        return withSyStrs([text, authority.host]) { s in
            var query = sy_service_query(
                struct_size: UInt32(MemoryLayout<sy_service_query>.size), port: UInt32(authority.port), authority: s[0], host: s[1])
            return check(CallState.run { call in hook(instance, &query, call) })
        }
    }

    /// Calls the endpoint hook and checks the answer; nil for "not mine" or a fault.
    func resolve(_ instance: UnsafeMutableRawPointer, endpoint address: Authority, labels: [(key: String, value: String)]) -> Meta? {
        guard let hook = def.pointer.pointee.resolve_endpoint else { return nil }
        let strings = [address.description, address.host] + labels.flatMap { [$0.key, $0.value] }
        return withSyStrs(strings) { s in
            let cLabels = labels.indices.map { sy_label(key: s[2 + 2 * $0], value: s[3 + 2 * $0]) }
            return cLabels.withUnsafeBufferPointer { buffer in
                var query = sy_endpoint_query(
                    struct_size: UInt32(MemoryLayout<sy_endpoint_query>.size), port: UInt32(address.port),
                    address: s[0], host: s[1], labels: buffer.baseAddress, label_count: UInt32(buffer.count),
                    label_size: UInt32(MemoryLayout<sy_label>.stride))
                return check(CallState.run { call in hook(instance, &query, call) })
            }
        }
    }

    /// Turns a hook's status and deliveries into an answer, counting every misuse as a fault.
    private func check(_ outcome: (sy_status, CallState)) -> Meta? {
        let (status, call) = outcome
        if let misuse = call.misuse {
            faults.record(misuse)
            return nil
        }
        switch (status, call.answer) {
        case (SY_OK, .success(let meta)?):
            return meta
        case (SY_OK, .failure(let error)?):
            faults.record("malformed metadata answer: \(error)")
        case (SY_OK, nil):
            faults.record("returned SY_OK without calling answer_meta()")
        case (SY_DECLINE, nil):
            return nil
        case (SY_DECLINE, _?):
            faults.record("called answer_meta() but returned SY_DECLINE")
        case (SY_ERROR, _):
            faults.record("resolve failed: \(call.failure ?? "(no message)")")
        default:
            faults.record("returned unknown status \(status)")
        }
        return nil
    }
}
