import SwitchyardCore

/// An endpoint as an etcd value describes it, in either of two JSON shapes:
///
/// - etcd's naming format (`go.etcd.io/etcd/client/v3/naming/endpoints`):
///   `{"Addr":"10.0.0.1:80","Metadata":{"weight":3,"labels":{"zone":"a"}}}`, `Metadata`
///   optional or null;
/// - Switchyard's own: `{"address":"10.0.0.1:80","weight":3,"labels":{"zone":"a"}}`.
///
/// `weight` is optional (1), a whole number in 1...1000000; `labels` is optional, string to
/// string. Other members are ignored. The address is only checked to be non-empty: the host
/// validates it.
public struct EtcdEndpointValue: Sendable, Equatable {
    /// The most weight an endpoint may have.
    public static let maxWeight = 1_000_000

    /// The endpoint's address as written, e.g. `10.0.0.1:80`.
    public let address: String
    /// Its weight, 1...``maxWeight``.
    public let weight: Int
    /// Its labels.
    public let labels: [String: String]

    /// An endpoint at `address` with `weight` and `labels`.
    public init(address: String, weight: Int, labels: [String: String]) {
        self.address = address
        self.weight = weight
        self.labels = labels
    }

    /// Reads an endpoint from an etcd value.
    /// - Returns: the endpoint, or why the value is not one.
    public static func parse(_ bytes: [UInt8]) -> Result<EtcdEndpointValue, EtcdValueError> {
        Result { () throws(EtcdValueError) in try parseOrThrow(bytes) }
    }

    private static func parseOrThrow(_ bytes: [UInt8]) throws(EtcdValueError) -> EtcdEndpointValue {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw EtcdValueError("value is not UTF-8") }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: text)
        } catch {
            throw EtcdValueError("value is not JSON: \(error.description)")
        }
        guard case .object(let members) = json else { throw EtcdValueError("value is \(json.typeDescription), not an object") }
        let fields = Dictionary(members, uniquingKeysWith: { first, _ in first })

        let address: String
        let details: [String: JSONValue]
        let context: String
        switch (fields["Addr"], fields["address"]) {
        case (let addr?, nil):
            address = try nonEmptyString(addr, "Addr")
            switch fields["Metadata"] {
            case nil, .null?:
                details = [:]
            case .object(let metadata)?:
                details = Dictionary(metadata, uniquingKeysWith: { first, _ in first })
            case let other?:
                throw EtcdValueError("Metadata is \(other.typeDescription), not an object")
            }
            context = "Metadata."
        case (nil, let plain?):
            address = try nonEmptyString(plain, "address")
            details = fields
            context = ""
        case (.some, .some):
            throw EtcdValueError("value has both Addr and address")
        case (nil, nil):
            throw EtcdValueError("value has no Addr or address")
        }

        return EtcdEndpointValue(
            address: address,
            weight: try weight(details["weight"], context + "weight"),
            labels: try labels(details["labels"], context + "labels"))
    }

    private static func nonEmptyString(_ value: JSONValue, _ name: String) throws(EtcdValueError) -> String {
        guard case .string(let text) = value else { throw EtcdValueError("\(name) is \(value.typeDescription), not a string") }
        guard !text.isEmpty else { throw EtcdValueError("\(name) is empty") }
        return text
    }

    private static func weight(_ value: JSONValue?, _ name: String) throws(EtcdValueError) -> Int {
        switch value {
        case nil, .null?:
            return 1
        case .number(let number)?:
            guard let whole = Int(exactly: number), (1...maxWeight).contains(whole) else {
                throw EtcdValueError("\(name) must be a whole number in 1...\(maxWeight), not \(JSONValue.number(number))")
            }
            return whole
        case let other?:
            throw EtcdValueError("\(name) is \(other.typeDescription), not a number")
        }
    }

    private static func labels(_ value: JSONValue?, _ name: String) throws(EtcdValueError) -> [String: String] {
        switch value {
        case nil, .null?:
            return [:]
        case .object(let members)?:
            var labels: [String: String] = [:]
            for (key, member) in members {
                guard case .string(let text) = member else {
                    throw EtcdValueError("\(name).\(key) is \(member.typeDescription), not a string")
                }
                labels[key] = text
            }
            return labels
        case let other?:
            throw EtcdValueError("\(name) is \(other.typeDescription), not an object")
        }
    }
}

/// Why an etcd value is not an endpoint.
public struct EtcdValueError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, naming the field.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) {
        self.description = description
    }
}
