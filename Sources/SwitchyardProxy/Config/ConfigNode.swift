import SwitchyardCore
import Yams

/// A YAML node and its path from the root: typed accessors that fail with the path.
struct ConfigNode {
    let node: Node
    let path: String

    func error(_ message: String) -> ConfigError { ConfigError(path: path, message) }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    var line: String { node.mark.map { " (line \($0.line))" } ?? "" }

    /// The members of a mapping, refusing keys outside `allowed`.
    func mapping(allowed: [String]) throws(ConfigError) -> Members {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping\(line)") }
        var members: [(String, ConfigNode)] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw error("keys must be strings") }
            guard allowed.contains(name) else {
                throw ConfigError(path: child(name), "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
            }
            guard !members.contains(where: { $0.0 == name }) else { throw ConfigError(path: child(name), "duplicate key") }
            members.append((name, ConfigNode(node: value, path: child(name))))
        }
        return Members(members: members, parent: self)
    }

    /// The elements of a sequence.
    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list\(line)") }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]") }
    }

    var isNull: Bool { node.scalar.map { $0.style == .plain && ["", "~", "null", "Null", "NULL"].contains($0.string) } ?? false }

    func string() throws(ConfigError) -> String {
        guard let scalar = node.scalar, !isNull else { throw error("expected a string\(line)") }
        return scalar.string
    }

    func nonEmptyString() throws(ConfigError) -> String {
        let value = try string()
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    func int(_ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let scalar = node.scalar, let value = Int(scalar.string) else { throw error("expected an integer\(line)") }
        guard range.contains(value) else {
            throw error(range.upperBound == .max ? "must be ≥ \(range.lowerBound)" : "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    func double(_ range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let scalar = node.scalar, let value = Double(scalar.string), value.isFinite else { throw error("expected a number\(line)") }
        guard range.contains(value) else { throw error("must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        switch node.scalar?.string {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw error("expected true or false\(line)")
        }
    }

    func duration() throws(ConfigError) -> Duration {
        guard let text = node.scalar?.string, let value = DurationText.parse(text) else {
            throw error("expected a duration such as 250ms, 3s or 1m")
        }
        return value
    }

    /// A header field name the proxy will send: a token (RFC 9110 §5.1).
    func headerName() throws(ConfigError) -> String {
        let name = try nonEmptyString()
        guard name.utf8.allSatisfy(HeaderText.isTokenByte) else { throw error("'\(name)' is not a valid header name (a token: letters, digits and !#$%&'*+-.^_`|~)") }
        return name.lowercased()
    }

    /// A header field value (or text the proxy puts in one): no control characters but tab,
    /// so no CR, LF or NUL can split or end a header (RFC 9110 §5.5).
    func headerValue() throws(ConfigError) -> String {
        let value = try string()
        guard value.utf8.allSatisfy(HeaderText.isValueByte) else { throw error("must not contain control characters (CR, LF, NUL, ...)") }
        return value
    }

    /// A duration greater than zero.
    func positiveDuration() throws(ConfigError) -> Duration {
        let value = try duration()
        guard value > .zero else { throw error("must be greater than 0s") }
        return value
    }

    func authority(defaultPort: UInt16? = nil, allowsPortZero: Bool = false) throws(ConfigError) -> Authority {
        let text = try string()
        do {
            return try Authority(parsing: text, defaultPort: defaultPort, allowsPortZero: allowsPortZero)
        } catch {
            throw self.error(error.description)
        }
    }

    func regex() throws(ConfigError) -> RegexPattern {
        let source = try string()
        do {
            return try RegexPattern(source)
        } catch {
            throw self.error("invalid regular expression: \(error)")
        }
    }

    /// A list of strings.
    func strings() throws(ConfigError) -> [String] {
        try sequence().map { item throws(ConfigError) in try item.nonEmptyString() }
    }

    /// The node as JSON, for a plugin's config block. Plain scalars take their YAML type
    /// (number, boolean, null); quoted ones stay strings.
    func json() throws(ConfigError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain else { return .string(scalar.string) }
            if isNull { return .null }
            if let bool = node.bool { return .bool(bool) }
            if let int = node.int { return .number(Double(int)) }
            if let number = node.float, number.isFinite { return .number(number) }
            return .string(scalar.string)
        case .sequence:
            return .array(try sequence().map { item throws(ConfigError) in try item.json() })
        case .mapping(let mapping):
            var members: [(key: String, value: JSONValue)] = []
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw error("keys must be strings") }
                members.append((name, try ConfigNode(node: value, path: child(name)).json()))
            }
            return .object(members)
        case .alias:
            throw error("YAML aliases are not supported")
        }
    }

    /// The members of a mapping node, by key.
    struct Members {
        let members: [(String, ConfigNode)]
        let parent: ConfigNode

        subscript(_ key: String) -> ConfigNode? {
            members.first { $0.0 == key }.map { $0.1 }
        }

        func required(_ key: String) throws(ConfigError) -> ConfigNode {
            guard let node = self[key] else { throw ConfigError(path: parent.child(key), "missing (required)") }
            return node
        }
    }
}
