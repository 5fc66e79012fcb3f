import SwitchyardABI
import SwitchyardCore

/// Copies and validates a plugin's `sy_discovery_event` field by field, reading only what its
/// `struct_size` (and each array's element size) covers. Every rule the header lists under
/// `sy_discovery_event` is checked here; a broken one is the plugin's fault, named in the error.
struct DiscoveryEventReader {
    /// Why an event was refused.
    struct Refusal: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func read(_ event: UnsafePointer<sy_discovery_event>?) throws(Refusal) -> DiscoveryEvent {
        guard let event else { throw Refusal("the event is NULL") }
        let size = Int(event.pointee.struct_size)
        guard size >= Int(SY_DISCOVERY_EVENT_SIZE_1_2) else {
            throw Refusal("sy_discovery_event.struct_size is \(size), expected at least \(SY_DISCOVERY_EVENT_SIZE_1_2)")
        }
        guard let kind = DiscoveryEvent.Kind(rawValue: event.pointee.kind) else { throw Refusal("unknown event kind \(event.pointee.kind)") }
        let message = try text(event.pointee.message, "message", limit: Int(SY_MESSAGE_MAX), absentIsNil: true)
        let count = Int(event.pointee.endpoint_count)
        switch kind {
        case .notFound, .current, .error:
            guard count == 0 else { throw Refusal("a \(kind) event carries \(count) endpoint(s); only reset, add and remove carry endpoints") }
        case .reset, .add, .remove:
            guard count <= Int(SY_DISCOVERY_ENDPOINTS_MAX) else {
                throw Refusal("\(count) endpoints is more than \(SY_DISCOVERY_ENDPOINTS_MAX)")
            }
        }
        let setLabels = try labels(
            event.pointee.set_labels, count: event.pointee.set_label_count, size: event.pointee.set_label_size, "set_labels")
        var endpoints: [DiscoveredEndpoint] = []
        endpoints.reserveCapacity(count)
        if count > 0 {
            guard let base = event.pointee.endpoints else { throw Refusal("endpoints is NULL but endpoint_count is \(count)") }
            let elementSize = Int(event.pointee.endpoint_size)
            guard elementSize >= Int(SY_DISCOVERED_ENDPOINT_SIZE_1_2) else {
                throw Refusal("endpoint_size is \(elementSize), expected at least \(SY_DISCOVERED_ENDPOINT_SIZE_1_2)")
            }
            var seen = Set<Authority>()
            for i in 0..<count {
                let element = UnsafeRawPointer(base).advanced(by: i * elementSize).assumingMemoryBound(to: sy_discovered_endpoint.self)
                let endpoint = try self.endpoint(element, index: i, kind: kind, setLabels: setLabels)
                guard seen.insert(endpoint.address).inserted else { throw Refusal("endpoints[\(i)]: address \(endpoint.address) appears twice") }
                endpoints.append(endpoint)
            }
        }
        if kind == .error, message?.isEmpty ?? true { throw Refusal("an error event needs a message saying what failed") }
        return DiscoveryEvent(kind: kind, generation: event.pointee.generation, endpoints: endpoints, message: message)
    }

    private static func endpoint(
        _ element: UnsafePointer<sy_discovered_endpoint>, index: Int, kind: DiscoveryEvent.Kind, setLabels: [DiscoveredEndpoint.Label]
    ) throws(Refusal) -> DiscoveredEndpoint {
        let path = "endpoints[\(index)]"
        let addressText = try text(element.pointee.address, "\(path).address", limit: 64, absentIsNil: false) ?? ""
        let address = try ipAddress(addressText, path: path)
        // A removal names the address only.
        if kind == .remove { return DiscoveredEndpoint(address: address) }
        let weight = Int(element.pointee.weight)
        guard weight <= Int(SY_WEIGHT_MAX) else { throw Refusal("\(path).weight \(weight) is more than \(SY_WEIGHT_MAX)") }
        let own = try labels(element.pointee.labels, count: element.pointee.label_count, size: element.pointee.label_size, "\(path).labels")
        let ownKeys = Set(own.map(\.key))
        let merged = setLabels.filter { !ownKeys.contains($0.key) } + own
        guard merged.count <= Int(SY_DISCOVERY_LABELS_MAX) else {
            throw Refusal("\(path): \(merged.count) labels with the event's set_labels is more than \(SY_DISCOVERY_LABELS_MAX)")
        }
        var meta: Meta?
        if let pointer = element.pointee.meta {
            do {
                meta = try Meta(validating: pointer)
            } catch {
                throw Refusal("\(path).meta: \(error)")
            }
        }
        return DiscoveredEndpoint(address: address, weight: max(weight, 1), labels: merged, meta: meta)
    }

    /// An IP literal with a port, `10.0.0.1:80` or `[fd00::1]:80`, in canonical form.
    private static func ipAddress(_ text: String, path: String) throws(Refusal) -> Authority {
        do {
            _ = try Authority(parsing: text)
        } catch {
            throw Refusal("\(path).address: \(error)")
        }
        guard let address = Authority(ipLiteral: text) else {
            throw Refusal("\(path).address '\(text)' is not an IP literal with a port (a discovery resolves names itself)")
        }
        return address
    }

    private static func labels(_ base: UnsafePointer<sy_label>?, count: UInt32, size: UInt32, _ path: String) throws(Refusal) -> [DiscoveredEndpoint.Label] {
        guard count > 0 else { return [] }
        guard count <= UInt32(SY_DISCOVERY_LABELS_MAX) else { throw Refusal("\(path): \(count) labels is more than \(SY_DISCOVERY_LABELS_MAX)") }
        guard let base else { throw Refusal("\(path) is NULL but its count is \(count)") }
        guard Int(size) >= Int(SY_LABEL_SIZE_1_0) else { throw Refusal("\(path): label size \(size) is less than \(SY_LABEL_SIZE_1_0)") }
        var result: [DiscoveredEndpoint.Label] = []
        var keys = Set<String>()
        for i in 0..<Int(count) {
            let label = UnsafeRawPointer(base).advanced(by: i * Int(size)).assumingMemoryBound(to: sy_label.self)
            let key = try text(label.pointee.key, "\(path)[\(i)].key", limit: Int(SY_LABEL_MAX), absentIsNil: false) ?? ""
            let value = try text(label.pointee.value, "\(path)[\(i)].value", limit: Int(SY_LABEL_MAX), absentIsNil: false) ?? ""
            guard !key.isEmpty else { throw Refusal("\(path)[\(i)].key is empty") }
            guard keys.insert(key).inserted else { throw Refusal("\(path): key '\(key)' appears twice") }
            result.append(DiscoveredEndpoint.Label(key: key, value: value))
        }
        return result
    }

    /// The string, or nil when absent and `absentIsNil`; refused when too long, not UTF-8 or
    /// holding control characters.
    private static func text(_ value: sy_str, _ what: String, limit: Int, absentIsNil: Bool) throws(Refusal) -> String? {
        if value.ptr == nil {
            guard value.len == 0 else { throw Refusal("\(what) is NULL with length \(value.len)") }
            return absentIsNil ? nil : ""
        }
        guard value.len <= limit else { throw Refusal("\(what) is longer than \(limit) bytes") }
        guard let string = value.validatedString else { throw Refusal("\(what) is not UTF-8") }
        guard !string.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Refusal("\(what) contains control characters")
        }
        return string
    }
}
