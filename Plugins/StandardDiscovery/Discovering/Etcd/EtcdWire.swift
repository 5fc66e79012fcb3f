import SwitchyardCore

/// The etcd v3 JSON gateway's encoding (protobuf's JSON mapping): requests as text, and the
/// fields read back out of responses. `int64`s travel as decimal strings, `bytes` as base64,
/// and a field at its zero value (0, false, empty, `PUT`) is left out.
enum EtcdWire {
    /// The body of a `/v3/kv/range` request for the keys in `range`, at most `limit` of them.
    static func rangeRequest(_ range: EtcdKeyRange, limit: Int) -> [UInt8] {
        let request = JSONValue.object([
            ("key", .string(Base64.encode(range.key))),
            ("range_end", .string(Base64.encode(range.rangeEnd))),
            ("limit", .string(String(limit))),
        ])
        return Array(request.description.utf8)
    }

    /// The body of a `/v3/watch` request creating a watch on `range` from `startRevision`
    /// (0: from now).
    static func watchRequest(_ range: EtcdKeyRange, startRevision: Int64) -> [UInt8] {
        let request = JSONValue.object([
            (
                "create_request",
                .object([
                    ("key", .string(Base64.encode(range.key))),
                    ("range_end", .string(Base64.encode(range.rangeEnd))),
                    ("start_revision", .string(String(startRevision))),
                ])
            )
        ])
        return Array(request.description.utf8)
    }

    /// Parses a JSON message; `what` names it in the error.
    static func parse(_ bytes: some Collection<UInt8>, what: String) throws(EtcdError) -> JSONValue {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw EtcdError("\(what) is not UTF-8") }
        do {
            return try JSONValue(parsing: text)
        } catch {
            throw EtcdError("\(what) is not JSON: \(error.description)")
        }
    }

    /// The member `name` of an object, `nil` when absent or null.
    /// - Throws: ``EtcdError`` when `value` is not an object.
    static func member(_ name: String, of value: JSONValue, in what: String) throws(EtcdError) -> JSONValue? {
        guard case .object(let members) = value else { throw EtcdError("\(what) is \(value.typeDescription), not an object") }
        guard let found = members.first(where: { $0.key == name })?.value else { return nil }
        if case .null = found { return nil }
        return found
    }

    /// An `int64` field: a decimal string (or a whole JSON number); 0 when absent.
    static func int64(_ name: String, of value: JSONValue, in what: String) throws(EtcdError) -> Int64 {
        switch try member(name, of: value, in: what) {
        case nil:
            return 0
        case .string(let text)?:
            guard let number = Int64(text) else { throw EtcdError("\(what).\(name) is not an int64: '\(printableExcerpt(text.utf8))'") }
            return number
        case .number(let number)?:
            guard let whole = Int64(exactly: number) else { throw EtcdError("\(what).\(name) is not an int64: \(number)") }
            return whole
        case let other?:
            throw EtcdError("\(what).\(name) is \(other.typeDescription), not an int64")
        }
    }

    /// A `bool` field; false when absent.
    static func bool(_ name: String, of value: JSONValue, in what: String) throws(EtcdError) -> Bool {
        switch try member(name, of: value, in: what) {
        case nil: return false
        case .bool(let flag)?: return flag
        case let other?: throw EtcdError("\(what).\(name) is \(other.typeDescription), not a boolean")
        }
    }

    /// A `string` field; empty when absent.
    static func string(_ name: String, of value: JSONValue, in what: String) throws(EtcdError) -> String {
        switch try member(name, of: value, in: what) {
        case nil: return ""
        case .string(let text)?: return text
        case let other?: throw EtcdError("\(what).\(name) is \(other.typeDescription), not a string")
        }
    }

    /// A `bytes` field (base64); empty when absent.
    static func bytes(_ name: String, of value: JSONValue, in what: String) throws(EtcdError) -> [UInt8] {
        switch try member(name, of: value, in: what) {
        case nil:
            return []
        case .string(let text)?:
            guard let bytes = Base64.decode(text) else { throw EtcdError("\(what).\(name) is not base64") }
            return bytes
        case let other?:
            throw EtcdError("\(what).\(name) is \(other.typeDescription), not base64 bytes")
        }
    }

    /// A repeated field; empty when absent.
    static func array(_ name: String, of value: JSONValue, in what: String) throws(EtcdError) -> [JSONValue] {
        switch try member(name, of: value, in: what) {
        case nil: return []
        case .array(let elements)?: return elements
        case let other?: throw EtcdError("\(what).\(name) is \(other.typeDescription), not an array")
        }
    }

    /// `header.revision` of a response.
    static func headerRevision(of response: JSONValue, in what: String) throws(EtcdError) -> Int64 {
        guard let header = try member("header", of: response, in: what) else { return 0 }
        return try int64("revision", of: header, in: "\(what).header")
    }

    /// A `mvccpb.KeyValue`.
    static func keyValue(_ value: JSONValue, in what: String) throws(EtcdError) -> EtcdKeyValue {
        EtcdKeyValue(
            key: try bytes("key", of: value, in: what),
            value: try bytes("value", of: value, in: what),
            modRevision: try int64("mod_revision", of: value, in: what))
    }

    /// A `mvccpb.Event`: `type` (`PUT` when absent, or `DELETE`) and `kv`.
    static func event(_ value: JSONValue, in what: String) throws(EtcdError) -> EtcdWatchEvent {
        guard let kv = try member("kv", of: value, in: what) else { throw EtcdError("\(what) has no kv") }
        let keyValue = try keyValue(kv, in: "\(what).kv")
        switch try string("type", of: value, in: what) {
        case "", "PUT": return .put(keyValue)
        case "DELETE": return .delete(key: keyValue.key, modRevision: keyValue.modRevision)
        case let other: throw EtcdError("\(what).type is unknown: '\(printableExcerpt(other.utf8))'")
        }
    }

    /// What a gateway error says, or `nil` when `message` is not one. Unary calls answer
    /// `{"error":"…","message":"…","code":N}`; streams send
    /// `{"error":{"grpc_code":N,"http_code":N,"message":"…","http_status":"…"}}`.
    static func gatewayError(in message: JSONValue) -> String? {
        guard case .object(let members) = message, let error = members.first(where: { $0.key == "error" })?.value else {
            return nil
        }
        let (details, codeName): (JSONValue, String) =
            if case .object = error { (error, "grpc_code") } else { (message, "code") }
        let text = (try? string("message", of: details, in: "error")).flatMap { $0.isEmpty ? nil : $0 } ?? error.description
        let code = (try? int64(codeName, of: details, in: "error")) ?? 0
        return "\(printableExcerpt(text.utf8)) (gRPC code \(code))"
    }
}
