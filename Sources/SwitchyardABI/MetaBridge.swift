import SwitchyardCore

extension Meta {
    /// Lends this meta to C as an `sy_meta` for the duration of `body`.
    public func withSyMeta<R>(_ body: (UnsafePointer<sy_meta>) throws -> R) rethrows -> R {
        let type: Int32
        let fields: [String?]
        switch self {
        case .default(let name):
            type = SY_META_DEFAULT
            fields = ["", "", "", name, nil]
        case .resource(let r):
            type = SY_META_RESOURCE
            fields = [r.group, r.kind, r.namespace, r.name, r.section]
        }
        return try withSyStrs(fields) { s in
            var meta = sy_meta(
                struct_size: UInt32(MemoryLayout<sy_meta>.size), type: type,
                group: s[0], kind: s[1], ns: s[2], name: s[3], section: s[4], port: UInt32(port ?? 0))
            return try withUnsafePointer(to: &meta, body)
        }
    }

    /// Reads and validates an `sy_meta` a plugin answered (the checks of the header's
    /// `sy_meta` comment).
    /// - Throws: ``MetaAnswerError`` saying which field is wrong.
    public init(validating pointer: UnsafePointer<sy_meta>) throws(MetaAnswerError) {
        let size = Int(pointer.pointee.struct_size)
        guard size >= Int(SY_META_SIZE_1_0) else {
            throw MetaAnswerError("sy_meta.struct_size is \(size), expected at least \(SY_META_SIZE_1_0) (its ABI 1.0 size)")
        }
        let raw = pointer.pointee
        func field(_ value: sy_str, _ label: String, required: Bool) throws(MetaAnswerError) -> String {
            guard value.len <= Int(SY_META_FIELD_MAX) else {
                throw MetaAnswerError("\(label) is \(value.len) bytes, longer than \(SY_META_FIELD_MAX)")
            }
            guard value.ptr != nil || value.len == 0 else { throw MetaAnswerError("\(label) has a length but no pointer") }
            guard let text = value.validatedString else { throw MetaAnswerError("\(label) is not valid UTF-8") }
            guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw MetaAnswerError("\(label) contains control characters")
            }
            guard !required || !text.isEmpty else { throw MetaAnswerError("\(label) is empty") }
            return text
        }
        switch raw.type {
        case SY_META_DEFAULT:
            self = .default(name: try field(raw.name, "name", required: true))
        case SY_META_RESOURCE:
            guard raw.port <= 65535 else { throw MetaAnswerError("port \(raw.port) is above 65535") }
            self = .resource(
                group: try field(raw.group, "group", required: false),
                kind: try field(raw.kind, "kind", required: true),
                namespace: try field(raw.ns, "namespace", required: false),
                name: try field(raw.name, "name", required: true),
                section: raw.section.isAbsent ? nil : try field(raw.section, "section", required: false),
                port: raw.port == 0 ? nil : UInt16(raw.port))
        default:
            throw MetaAnswerError("type \(raw.type) is neither SY_META_DEFAULT nor SY_META_RESOURCE")
        }
    }
}

/// Why a plugin's metadata answer was refused.
public struct MetaAnswerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let description: String

    /// Creates an error saying `description`.
    public init(_ description: String) { self.description = description }
}
