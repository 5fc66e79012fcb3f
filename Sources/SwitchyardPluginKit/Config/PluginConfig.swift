/// The config block of one resolver or balancer instance, with typed, validating accessors.
///
/// Every accessor records the key it read; when the instance's initialiser returns, the kit
/// refuses any key that was never read, so a typo (`decai: 5s`) is an error and not silently
/// ignored. Errors name the key; the host adds the config path in front.
///
/// ```swift
/// init(config: PluginConfig, setup: inout BalancerSetup) throws {
///     setup.defaultRtt = try config.duration("defaultRtt", default: .milliseconds(30), atLeast: .nanoseconds(1))
/// }
/// ```
public final class PluginConfig {
    private let members: [(key: String, value: JSONValue)]
    private var readKeys: Set<String> = []

    /// Parses the JSON text of a config block; it must be an object (or empty, meaning `{}`).
    public init(json: String) throws(PluginConfigError) {
        if json.allSatisfy(\.isWhitespace) {
            members = []
            return
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: json)
        } catch {
            throw PluginConfigError(key: nil, message: error.description)
        }
        switch value {
        case .object(let members): self.members = members
        case .null: self.members = []
        default: throw PluginConfigError(key: nil, message: "config must be an object, not \(value.typeDescription)")
        }
    }

    /// The raw value under `key`, if present; marks the key as known.
    public func value(_ key: String) -> JSONValue? {
        readKeys.insert(key)
        return members.first { $0.key == key }?.value
    }

    /// A duration written as `250ms`, `3s`, `1m`, ... (a bare number is read as milliseconds).
    public func duration(
        _ key: String,
        default defaultValue: Duration,
        atLeast minimum: Duration? = nil
    ) throws(PluginConfigError) -> Duration {
        guard let raw = value(key) else { return defaultValue }
        let parsed: Duration?
        switch raw {
        case .string(let text): parsed = DurationText.parse(text)
        case .number(let ms) where ms >= 0 && ms < 9e12: parsed = .nanoseconds(Int64(ms * 1e6))
        default: parsed = nil
        }
        guard let parsed else {
            throw PluginConfigError(key: key, message: "expected a duration such as 250ms, 3s or 1m, got \(raw)")
        }
        if let minimum, parsed < minimum {
            throw PluginConfigError(key: key, message: "must be at least \(DurationText.format(minimum)), got \(raw)")
        }
        return parsed
    }

    /// An integer within `range`.
    public func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int>) throws(PluginConfigError) -> Int {
        guard let raw = value(key) else { return defaultValue }
        guard case .number(let n) = raw, n.rounded() == n, abs(n) < 9e15 else {
            throw PluginConfigError(key: key, message: "expected an integer, got \(raw)")
        }
        guard range.contains(Int(n)) else {
            throw PluginConfigError(key: key, message: "must be \(Self.describe(range)), got \(raw)")
        }
        return Int(n)
    }

    /// A number within `range`.
    public func double(_ key: String, default defaultValue: Double, range: ClosedRange<Double>) throws(PluginConfigError) -> Double {
        guard let raw = value(key) else { return defaultValue }
        guard case .number(let n) = raw else {
            throw PluginConfigError(key: key, message: "expected a number, got \(raw)")
        }
        guard range.contains(n) else {
            throw PluginConfigError(key: key, message: "must be between \(range.lowerBound) and \(range.upperBound), got \(raw)")
        }
        return n
    }

    /// A string; with `allowed`, one of those.
    public func string(_ key: String, default defaultValue: String, allowed: [String]? = nil) throws(PluginConfigError) -> String {
        guard let raw = value(key) else { return defaultValue }
        guard case .string(let s) = raw else {
            throw PluginConfigError(key: key, message: "expected a string, got \(raw)")
        }
        if let allowed, !allowed.contains(s) {
            throw PluginConfigError(key: key, message: "must be one of \(allowed.joined(separator: ", ")), got \(raw)")
        }
        return s
    }

    /// A boolean.
    public func bool(_ key: String, default defaultValue: Bool) throws(PluginConfigError) -> Bool {
        guard let raw = value(key) else { return defaultValue }
        guard case .bool(let b) = raw else {
            throw PluginConfigError(key: key, message: "expected true or false, got \(raw)")
        }
        return b
    }

    /// A list of strings (absent: `defaultValue`), each non-empty.
    public func strings(_ key: String, default defaultValue: [String] = []) throws(PluginConfigError) -> [String] {
        guard let raw = value(key) else { return defaultValue }
        guard case .array(let items) = raw else { throw PluginConfigError(key: key, message: "expected a list of strings, got \(raw)") }
        return try items.map { item throws(PluginConfigError) in
            guard case .string(let s) = item, !s.isEmpty else {
                throw PluginConfigError(key: key, message: "expected a list of non-empty strings, got \(item) in it")
            }
            return s
        }
    }

    /// A mapping of strings to strings, in order, such as labels (absent: empty).
    public func labels(_ key: String) throws(PluginConfigError) -> [(key: String, value: String)] {
        guard let raw = value(key) else { return [] }
        guard case .object(let members) = raw else { throw PluginConfigError(key: key, message: "expected a mapping of names to strings, got \(raw)") }
        return try members.map { member throws(PluginConfigError) in
            switch member.value {
            case .string(let s): return (member.key, s)
            case .number(let n) where n == n.rounded() && abs(n) < 1e15: return (member.key, String(Int64(n)))
            case .bool(let b): return (member.key, String(b))
            default: throw PluginConfigError(key: "\(key).\(member.key)", message: "expected a string, got \(member.value)")
            }
        }
    }

    /// Refuses keys no accessor read. The kit calls this after an instance is initialised.
    func rejectUnknownKeys() throws(PluginConfigError) {
        guard let unknown = members.first(where: { !readKeys.contains($0.key) }) else { return }
        let known = readKeys.sorted()
        throw PluginConfigError(
            key: unknown.key,
            message: known.isEmpty
                ? "unknown key (this implementation takes no config)"
                : "unknown key (known: \(known.joined(separator: ", ")))"
        )
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == .max { return "≥ \(range.lowerBound)" }
        return "between \(range.lowerBound) and \(range.upperBound)"
    }
}

/// A config block refused by a plugin: which key, and why. The host shows it after the
/// config path of the block, e.g. `backends[0].balancer.config.decay: must be at least 1ns`.
public struct PluginConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The key at fault, or nil when the whole block is.
    public let key: String?
    /// What is wrong.
    public let message: String

    /// Creates an error for `key` (nil: the whole block).
    public init(key: String?, message: String) {
        self.key = key
        self.message = message
    }

    /// `key: message`, or just the message.
    public var description: String { key.map { "\($0): \(message)" } ?? message }
}
